"""A fake WeChat API (an httpx transport) that refuses what the real one refuses.

Custom (free-form) messages go only to users who wrote within 48 hours (45015 otherwise, as
the real service answers); template messages need a template id the account has, only that
template's keys, and each value at most 20 characters (47003 otherwise). What it accepted is
recorded for the tests to read.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import httpx

FIXTURES = Path(__file__).parent / "fixtures" / "wechat"
WINDOW = timedelta(hours=48)
FIELD_MAX = 20


def recorded_templates() -> list[dict]:
    """The account's templates, as get_all_private_template answered (recorded)."""
    return json.loads((FIXTURES / "get_all_private_template.json").read_text())["template_list"]


class FakeWechat:
    def __init__(self, *, now: datetime, last_wrote: dict[str, datetime] | None = None):
        self.now = now
        self.last_wrote = dict(last_wrote or {})  # openid -> when the user last wrote
        self.templates = {
            t["template_id"]: re.findall(r"\{\{(\w+)\.DATA\}\}", t["content"])
            for t in recorded_templates()
        }
        self.custom: list[dict] = []
        self.template_sends: list[dict] = []
        self.refused: list[tuple[str, int]] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "TOKEN", "expires_in": 7200})
        if request.url.params.get("access_token") != "TOKEN":
            return self._error(path, 40001, "invalid credential")
        if path == "/cgi-bin/message/custom/send":
            return self._custom(json.loads(request.content))
        if path == "/cgi-bin/message/template/send":
            return self._template(json.loads(request.content))
        if path == "/cgi-bin/template/get_all_private_template" and request.method == "GET":
            return httpx.Response(200, json={"template_list": recorded_templates()})
        return httpx.Response(404)

    def _error(self, path: str, code: int, message: str) -> httpx.Response:
        self.refused.append((path, code))
        return httpx.Response(200, json={"errcode": code, "errmsg": message})

    def _custom(self, body: dict) -> httpx.Response:
        wrote = self.last_wrote.get(body["touser"])
        if wrote is None or self.now - wrote >= WINDOW:
            return self._error("custom", 45015, "response out of time limit")
        self.custom.append(body)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    def _template(self, body: dict) -> httpx.Response:
        keys = self.templates.get(body.get("template_id"))
        if keys is None:
            return self._error("template", 40037, "invalid template_id")
        data = body.get("data") or {}
        for key, item in data.items():
            value = str(item.get("value", ""))
            if key not in keys or not value or len(value) > FIELD_MAX:
                return self._error("template", 47003, f"argument invalid! data.{key}.value")
        self.template_sends.append(body)
        return httpx.Response(200, json={"errcode": 0, "msgid": 1000 + len(self.template_sends)})
