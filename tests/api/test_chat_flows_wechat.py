"""The SPEC section 2 conversation end to end over POST /wechat (safe mode, crafted callbacks)."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from wechat_craft import craft, fixture, open_reply

from models import LocationSample
from tests.factories import GUIYANG
from tests.handlers.grammar_table import LOCATION, assert_recorded, play, school_with_codes

OPENIDS = {"student": "oStudent0000000000000000001", "teacher": "oTeacher0000000000000000001"}


@pytest.fixture
def client(app):
    app.state.wechat.budget_s = 30  # the first message may load jieba's dictionary
    with TestClient(app) as client:
        yield client


class Wechat:
    """Crafts callbacks as WeChat's servers send them and opens the (encrypted) passive replies."""

    def __init__(self, client, settings, now):
        self.client, self.settings, self.now = client, settings, now
        self.serial = itertools.count(1)

    def post(self, xml: str) -> str:
        params, body = craft(self.settings, xml, at=self.now, mode="safe")
        r = self.client.post("/wechat", params=params, content=body)
        assert r.status_code == 200, r.text
        return "" if r.text == "success" else open_reply(self.settings, r.text)["Content"]

    def _sender(self, who: str, *, event: bool = False) -> dict[str, str]:
        """Whose message it is, with a fresh MsgId (events, which have none, a fresh time)."""
        n = next(self.serial)
        fields = {"FromUserName": OPENIDS[who]}
        if event:  # events are told apart by sender, CreateTime and event name
            return fields | {"CreateTime": str(int(self.now.timestamp()) + n)}
        return fields | {"MsgId": str(24512345678900000 + n)}

    def text(self, who: str, content: str) -> str:
        return self.post(fixture("text.xml", Content=content, **self._sender(who)))

    def location(self, who: str, lat: float, lng: float) -> str:
        point = {"Location_X": f"{lat:.6f}", "Location_Y": f"{lng:.6f}"}
        return self.post(fixture("location.xml", **point, **self._sender(who)))

    def event(self, who: str, name: str) -> str:
        return self.post(fixture(name, **self._sender(who, event=True)))


@pytest.fixture
def wechat(client, settings, now) -> Wechat:
    return Wechat(client, settings, now)


def test_the_whole_grammar_over_the_wechat_endpoint(session, wechat, now):
    codes = school_with_codes(session, now)

    def send(who: str, message) -> str:
        if message is LOCATION:
            # The account's LOCATION event arrives first: evidence, answered "success".
            assert wechat.event(who, "event_location.xml") == ""
            return wechat.location(who, *GUIYANG)  # a map pick: GCJ-02 Location_X / Location_Y
        return wechat.text(who, message)

    play(send, lang="zh", codes=codes)
    assert_recorded(session, datum="gcj02")
    sample = session.exec(select(LocationSample).where(LocationSample.source == "event")).one()
    assert sample.accuracy_m == 65.0


def test_menu_clicks_start_the_same_dialogs_as_the_words(session, wechat, now, engine):
    codes = school_with_codes(session, now)
    assert "绑定成功" in wechat.text("student", f"绑定 {codes['student_code']}")
    assert "本周出勤：0/1 天" in wechat.event("student", "click_status.xml")
    assert "开始写周记（至少 200 字）" in wechat.event("student", "click_journal_weekly.xml")
    assert "已取消" in wechat.text("student", "取消")
    with Session(engine) as check:
        assert check.exec(select(LocationSample)).all() == []
