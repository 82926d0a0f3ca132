"""Review findings on the console's request handling: bodies capped and checked before they are
read, the roster import off the event loop, security headers, no public /docs."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from api.app import create_app
from api.headers import CONSOLE_CSP
from tests.api.console_world import build_world, csrf_of, login, make_client
from tests.api.test_console_pages import GOOD_ROW, ROSTER_HEADER

GIGABYTES_2 = str(2 * 1024**3).encode()
TEMPLATES = Path(__file__).parents[2] / "api" / "templates"


def _call(app, path: str, headers: list[tuple[bytes, bytes]]):
    """Send one POST straight to the ASGI app; returns (status, body, body chunks it read)."""
    read = []
    sent = []

    async def receive():
        read.append(1)
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body.decode(), len(read)


MULTIPART = (b"content-type", b"multipart/form-data; boundary=xyz")


def test_an_anonymous_2_gb_multipart_login_is_refused_before_reading_it(settings, engine):
    app = create_app(settings, engine=engine)
    status, _, read = _call(app, "/admin/login", [(b"content-length", GIGABYTES_2), MULTIPART])
    assert status == 413 and read == 0


def test_an_anonymous_upload_is_sent_to_sign_in_before_reading_it(settings, engine):
    app = create_app(settings, engine=engine)
    status, _, read = _call(app, "/admin/roster", [(b"content-length", b"1000"), MULTIPART])
    assert status == 303 and read == 0


def test_a_sign_in_without_the_pages_csrf_cookie_is_refused_before_reading_it(settings, engine):
    app = create_app(settings, engine=engine)
    status, body, read = _call(app, "/admin/login", [(b"content-length", b"1000")])
    assert status == 403 and read == 0 and "表单已过期" in body


def test_a_console_post_must_declare_its_length(settings, engine):
    app = create_app(settings, engine=engine)
    status, _, read = _call(app, "/admin/login", [])
    assert status == 411 and read == 0


def test_a_signed_in_form_over_the_limit_is_413_and_an_upload_within_it_works(
    settings, engine, session, now
):
    world = build_world(session, now)
    client = make_client(settings, engine, now)
    login(client, "school_a")
    csrf = csrf_of(client.get("/admin/students").text)
    jid = world.ids["mine"]["journal"]
    big = {"score": "80", "comment": "长" * 40_000, "csrf": csrf}  # 120 kB of UTF-8
    assert client.post(f"/admin/journals/{jid}/grade", data=big).status_code == 413
    body = ("\n".join([ROSTER_HEADER, GOOD_ROW]) + "\n").encode()
    files = {"file": ("名册.csv", body, "text/csv")}
    resp = client.post("/admin/roster", data={"csrf": csrf}, files=files)
    assert resp.status_code == 200 and 'id="accepted-count">1<' in resp.text


def test_the_roster_import_runs_off_the_event_loop(settings, engine, session, now, monkeypatch):
    import api.console.roster as roster_page

    build_world(session, now)
    client = make_client(settings, engine, now)
    login(client, "school_a")
    csrf = csrf_of(client.get("/admin/roster").text)
    where = []
    real = roster_page.parse_roster

    def watched(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            where.append("event loop")
        except RuntimeError:
            where.append("worker thread")
        return real(*args, **kwargs)

    monkeypatch.setattr(roster_page, "parse_roster", watched)
    body = ("\n".join([ROSTER_HEADER, GOOD_ROW]) + "\n").encode()
    resp = client.post(
        "/admin/roster", data={"csrf": csrf}, files={"file": ("r.csv", body, "text/csv")}
    )
    assert resp.status_code == 200
    assert where == ["worker thread"]


def test_every_response_carries_the_security_headers(settings, engine, now):
    client = make_client(settings, engine, now)
    for path in ("/admin/login", "/healthz", "/openapi.json"):
        resp = client.get(path)
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in resp.headers  # cookie_secure is off here
    assert client.get("/admin/login").headers["content-security-policy"] == CONSOLE_CSP
    assert "frame-ancestors 'none'" in CONSOLE_CSP and "script-src 'self'" in CONSOLE_CSP


def test_hsts_is_sent_when_cookies_are_https_only(settings, engine, now):
    secure = settings.model_copy(deep=True)
    secure.server.cookie_secure = True
    client = make_client(secure, engine, now)
    assert client.get("/admin/login").headers["strict-transport-security"].startswith("max-age=")


def test_docs_pages_are_not_public_but_the_openapi_description_is(settings, engine, now):
    client = make_client(settings, engine, now)
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").json()["info"]["title"].startswith("Shixi")


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_console_templates_satisfy_the_csp(template):
    """No inline script or event handler: the policy allows scripts from /static only."""
    html = (TEMPLATES / template).read_text(encoding="utf-8")
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "javascript:" not in html
