"""Static files: a hashed URL cached for a year, gzip when asked, revalidation otherwise."""

from __future__ import annotations

import re

from tests.api.console_world import build_world, login, make_client


def test_pages_link_static_files_by_content_hash_and_they_are_cached_for_a_year(
    settings, engine, session, now
):
    build_world(session, now)
    client = make_client(settings, engine, now)
    login(client, "province")
    page = client.get("/admin/").text
    url = re.search(r'src="(/static/vendor/echarts\.min\.js\?v=[0-9a-f]{12})"', page).group(1)
    resp = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert resp.headers["content-encoding"] == "gzip"
    assert int(resp.headers["content-length"]) < 400_000  # 1 MB of JavaScript, compressed
    assert resp.content.startswith(b"\n/*") or b"echarts" in resp.content[:5000]
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]{12})"', page).group(1)
    assert client.get(css).headers["cache-control"].endswith("immutable")


def test_an_unversioned_or_stale_url_revalidates_and_a_client_without_gzip_gets_plain_bytes(
    settings, engine, now
):
    client = make_client(settings, engine, now)
    plain = client.get("/static/app.css", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.headers["cache-control"] == "no-cache"
    assert plain.headers["content-type"].startswith("text/css")
    again = client.get("/static/app.css", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304
    old = client.get("/static/app.css?v=000000000000", headers={"Accept-Encoding": "gzip"})
    assert old.headers["cache-control"] == "no-cache"
    assert old.headers["content-encoding"] == "gzip"
    assert old.content == plain.content  # httpx undoes the gzip


def test_paths_outside_the_static_folder_are_not_served(settings, engine, now):
    client = make_client(settings, engine, now)
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/%2e%2e/console/web.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404
