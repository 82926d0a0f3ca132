"""The check-in page (SPEC 11): the link in the 签到 reply, GET /checkin, POST /checkin."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from bot.types import Inbound
from bot.wechat_jsapi import jsapi_signature
from models import CheckIn
from tests.factories import GUIYANG, bind, make_student

PUBLIC = "https://shixi.example.edu.cn"
WX = "https://api.weixin.qq.com"
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)


@pytest.fixture
def page(settings, engine, now, session):
    """The app with a public address, a student bound in WeChat, and a clock to move."""
    settings.server.public_url = PUBLIC
    app = create_app(settings, engine=engine)
    clock = {"now": now}
    app.state.clock = lambda: clock["now"]
    student = make_student(session)
    bind(session, person_kind="student", person_id=student.id, school_id=student.school_id,
         external_id="openid-1", channel="wechat")  # fmt: skip
    session.commit()
    with TestClient(app) as client:
        client.clock = clock
        client.student = student
        yield client


def link(client) -> str:
    """Send 签到 as the student and take the link from the reply."""
    pipeline = client.app.state.pipeline
    inbound = Inbound(channel="wechat", user_id="openid-1", at=client.clock["now"], text="签到")
    (reply,) = pipeline(inbound)
    assert "10 分钟内有效" in reply.text
    url = re.search(r"https://\S+", reply.text).group(0)
    assert url.startswith(f"{PUBLIC}/checkin?t=")
    return url.split("t=", 1)[1]


def rows(session) -> list[CheckIn]:
    session.expire_all()
    return list(session.exec(select(CheckIn)).all())


def test_wx_config_signature_matches_wechats_worked_example():
    assert (
        jsapi_signature(
            ticket="sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
            noncestr="Wm3WZYTPz0wzccnW",
            timestamp=1414587457,
            url="http://mp.weixin.qq.com?params=value",
        )
        == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    )


def test_a_posted_position_is_a_device_check_in_with_the_usual_receipt(page, session):
    t = link(page)
    r = page.post("/checkin", json={"t": t, "lat": GUIYANG[0], "lng": GUIYANG[1],
                                    "accuracy": 15, "coord_system": "gcj02"})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] and "上班签到成功：09:00" in body["message"]
    assert body["checkin"]["evidence"] == "device" and body["checkin"]["flags"] == []
    (row,) = rows(session)
    assert (row.evidence, row.source, row.channel, row.accuracy_m) == (
        "device", "device", "wechat", 15.0,
    )  # fmt: skip


def test_an_expired_or_forged_link_is_refused_and_nothing_is_recorded(page, session):
    t = link(page)
    page.clock["now"] += timedelta(minutes=11)
    point = {"lat": GUIYANG[0], "lng": GUIYANG[1], "accuracy": 15, "coord_system": "gcj02"}
    r = page.post("/checkin", json={"t": t, **point})
    assert r.status_code == 410 and "已过期" in r.json()["error"]
    got = page.get(f"/checkin?t={t}")
    assert got.status_code == 410 and "签到链接已过期" in got.text
    forged = t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB")
    assert page.post("/checkin", json={"t": forged, **point}).status_code == 403
    assert page.get("/checkin").status_code == 403
    assert rows(session) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"lat": 26.5}',
        b'{"t": 5, "lat": 26.5, "lng": 106.7, "coord_system": "gcj02"}',
        b"\xff\xfe",
    ],
)
def test_bad_bodies_are_4xx(page, body):
    r = page.post("/checkin", content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and r.json()["ok"] is False


def test_bad_points_are_refused_with_a_clear_message(page, session):
    t = link(page)
    for bad in (
        {"lat": "26.5", "lng": 106.7, "coord_system": "gcj02"},
        {"lat": 26.5, "lng": 106.7, "coord_system": "mars"},
        {"lat": 95.0, "lng": 106.7, "coord_system": "wgs84"},
        {"lat": True, "lng": 106.7, "coord_system": "wgs84"},
    ):
        r = page.post("/checkin", json={"t": t, **bad})
        assert r.status_code == 400 and "定位" in r.json()["error"]
    assert rows(session) == []


def test_a_link_of_a_chat_since_unbound_is_refused(page, session):
    t = link(page)
    pipeline = page.app.state.pipeline
    pipeline(Inbound(channel="wechat", user_id="openid-1", at=page.clock["now"], text="解绑"))
    point = {"lat": GUIYANG[0], "lng": GUIYANG[1], "coord_system": "gcj02"}
    r = page.post("/checkin", json={"t": t, **point})
    assert r.status_code == 403 and rows(session) == []


def test_outside_wechat_the_page_loads_no_external_script(page):
    r = page.get(f"/checkin?t={link(page)}")
    assert r.status_code == 200 and "实习签到" in r.text
    assert "res.wx.qq.com" not in r.text and 'src="/static/checkin.js"' in r.text
    assert "script-src 'self';" in r.headers["content-security-policy"]


def test_inside_wechat_the_page_is_configured_with_a_cached_jsapi_ticket(page):
    t = link(page)
    with respx.mock(assert_all_mocked=True) as wx:
        wx.post(f"{WX}/cgi-bin/stable_token").respond(
            json={"access_token": "TOKEN", "expires_in": 7200}
        )
        ticket = wx.get(f"{WX}/cgi-bin/ticket/getticket").mock(
            return_value=httpx.Response(
                200, json={"errcode": 0, "errmsg": "ok", "ticket": "TICKET", "expires_in": 7200}
            )
        )
        first = page.get(f"/checkin?t={t}", headers={"user-agent": WECHAT_UA})
        second = page.get(f"/checkin?t={t}", headers={"user-agent": WECHAT_UA})
    assert ticket.call_count == 1  # kept in the database, not fetched per page
    assert ticket.calls[0].request.url.params["type"] == "jsapi"
    assert first.status_code == second.status_code == 200
    assert '<script src="https://res.wx.qq.com/open/js/jweixin-1.6.0.js">' in first.text
    assert "https://res.wx.qq.com" in first.headers["content-security-policy"]
    data = re.search(r'data-page="([^"]+)"', first.text).group(1)
    import html
    import json

    wxcfg = json.loads(html.unescape(data))["wx"]
    url = f"{PUBLIC}/checkin?t={t}"
    assert wxcfg["signature"] == jsapi_signature(
        ticket="TICKET", noncestr=wxcfg["nonceStr"], timestamp=wxcfg["timestamp"], url=url
    )
    assert wxcfg["jsApiList"] == ["getLocation"]


def test_the_menus_checkin_click_answers_with_the_link(page):
    pipeline = page.app.state.pipeline
    click = Inbound(channel="wechat", user_id="openid-1", at=page.clock["now"], kind="event",
                    event="CLICK", intent="checkin")  # fmt: skip
    (reply,) = pipeline(click)
    assert f"{PUBLIC}/checkin?t=" in reply.text


async def test_with_a_public_address_the_menu_publishes_checkin_as_a_click(settings, engine):
    from api.commands.channels import publish_menu
    from tests.bot.fake_wechat_menus import FakeWechatMenus

    settings.server.public_url = PUBLIC
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        wx = FakeWechatMenus().install(mock)
        async with httpx.AsyncClient() as http:
            await publish_menu(settings, engine, http)
    checkin = {"type": "click", "name": "签到", "key": "CHECKIN"}
    assert wx.default["button"][0] == checkin  # students without a tag yet
    [students] = [m for m in wx.conditional if wx.tags[int(m["matchrule"]["tag_id"])] == "学生"]
    assert students["button"][0] == checkin
