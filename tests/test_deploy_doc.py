"""docs/deploy.md's nginx example routes what the app serves, before its catch-all 404."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).parents[1] / "docs" / "deploy.md"


def _locations() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("```nginx", 1)[1].split("```", 1)[0]
    https = block.split("listen 443", 1)[1].split("server {", 1)[0]
    return re.findall(r"location\s+(=\s*)?(\S+)\s*\{", https)


def test_static_files_and_the_openapi_description_are_not_blocked():
    paths = [path for _, path in _locations()]
    for needed in ("/static/", "/openapi.json", "/privacy", "/wechat", "/admin/", "/api/"):
        assert needed in paths, needed
        assert paths.index(needed) < paths.index("/")


def test_wechat_is_not_served_over_plain_http():
    text = DOC.read_text(encoding="utf-8")
    plain = text.split("listen 80;", 1)[1].split("```", 1)[0]
    assert "/wechat" not in plain
