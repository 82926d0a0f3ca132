"""A fake WeChat for user tags and menus (respx): keeps state and refuses what WeChat refuses.

Menus are checked against the shape WeChat documents (bot.menus.menu_problems: 1-3 buttons,
at most 5 sub-buttons, names of at most 16 / 60 bytes, keys of at most 128 bytes); a
conditional menu needs a default menu first and a tag that exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx

from bot.menus import menu_problems

WX = "https://api.weixin.qq.com"


def _ok(**data) -> httpx.Response:
    return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", **data})


def _err(code: int, msg: str) -> httpx.Response:
    return httpx.Response(200, json={"errcode": code, "errmsg": msg})


@dataclass
class FakeWechatMenus:
    tags: dict[int, str] = field(default_factory=dict)
    user_tags: dict[str, list[int]] = field(default_factory=dict)  # in tagging order
    default: dict | None = None
    conditional: list[dict] = field(default_factory=list)  # oldest first
    refused: list[str] = field(default_factory=list)

    def install(self, mock) -> FakeWechatMenus:
        mock.post(f"{WX}/cgi-bin/stable_token").respond(
            json={"access_token": "ACCESS", "expires_in": 7200}
        )
        mock.get(f"{WX}/cgi-bin/tags/get").mock(side_effect=self._tags_get)
        mock.post(f"{WX}/cgi-bin/tags/create").mock(side_effect=self._tags_create)
        mock.post(f"{WX}/cgi-bin/tags/members/batchtagging").mock(side_effect=self._tagging)
        mock.post(f"{WX}/cgi-bin/tags/members/batchuntagging").mock(side_effect=self._untagging)
        mock.get(f"{WX}/cgi-bin/menu/delete").mock(side_effect=self._delete)
        mock.post(f"{WX}/cgi-bin/menu/create").mock(side_effect=self._create)
        mock.post(f"{WX}/cgi-bin/menu/addconditional").mock(side_effect=self._conditional)
        return self

    # --- what a user sees ---------------------------------------------------------------

    def menu_for(self, openid: str) -> dict | None:
        """Newest conditional menu matching the user's last tag, else the default menu."""
        tags = self.user_tags.get(openid, [])
        if tags:
            for menu in reversed(self.conditional):
                if int(menu["matchrule"]["tag_id"]) == tags[-1]:
                    return menu
        return self.default

    # --- endpoints ----------------------------------------------------------------------

    def _tags_get(self, request) -> httpx.Response:
        tags = [{"id": i, "name": n, "count": 0} for i, n in self.tags.items()]
        return httpx.Response(200, json={"tags": tags})

    def _tags_create(self, request) -> httpx.Response:
        name = json.loads(request.content)["tag"]["name"]
        if not 0 < len(name) <= 30:
            return _err(45158, "tag name too long")
        if name in self.tags.values():
            return _err(45157, "tag name duplicated")
        tag_id = 100 + len(self.tags)
        self.tags[tag_id] = name
        return httpx.Response(200, json={"tag": {"id": tag_id, "name": name}})

    def _members(self, request) -> tuple[list[str], int] | httpx.Response:
        body = json.loads(request.content)
        openids, tag_id = body["openid_list"], int(body["tagid"])
        if not 0 < len(openids) <= 50:
            return _err(40032, "invalid openid list size")
        if tag_id not in self.tags:
            return _err(45159, "invalid tag id")
        return openids, tag_id

    def _tagging(self, request) -> httpx.Response:
        found = self._members(request)
        if isinstance(found, httpx.Response):
            return found
        openids, tag_id = found
        for openid in openids:
            tags = self.user_tags.setdefault(openid, [])
            if tag_id in tags:
                tags.remove(tag_id)
            tags.append(tag_id)
        return _ok()

    def _untagging(self, request) -> httpx.Response:
        found = self._members(request)
        if isinstance(found, httpx.Response):
            return found
        openids, tag_id = found
        for openid in openids:
            if tag_id in self.user_tags.get(openid, []):
                self.user_tags[openid].remove(tag_id)
        return _ok()

    def _delete(self, request) -> httpx.Response:
        self.default, self.conditional = None, []
        return _ok()

    def _create(self, request) -> httpx.Response:
        menu = json.loads(request.content)
        problems = menu_problems(menu)
        if problems:
            self.refused += problems
            return _err(40016, "invalid button size")
        self.default = menu
        return _ok()

    def _conditional(self, request) -> httpx.Response:
        menu = json.loads(request.content)
        problems = menu_problems(menu, conditional=True)
        if problems:
            self.refused += problems
            return _err(40016, "invalid button size")
        if self.default is None:
            return _err(65303, "there is no selfmenu, please create selfmenu first")
        if int(menu["matchrule"]["tag_id"]) not in self.tags:
            return _err(65301, "there is no tag match")
        self.conditional.append(menu)
        return httpx.Response(200, json={"menuid": str(400 + len(self.conditional))})
