"""The WeChat API client: stable_token shared through the database, errcodes, template fallback."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
import pytest
import respx

from api.commands.channels import publish_menu
from bot.senders import Outgoing, SendError, WechatSender
from bot.wechat_api import WechatApi, WechatApiError
from core.settings import WechatTemplate

WX = "https://api.weixin.qq.com"
TOKEN_URL = f"{WX}/cgi-bin/stable_token"
CUSTOM_URL = f"{WX}/cgi-bin/message/custom/send"
TEMPLATE_URL = f"{WX}/cgi-bin/message/template/send"


@pytest.fixture
def wx():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def body(call) -> dict:
    return json.loads(call.request.content)


def token_route(wx, *tokens: str):
    return wx.post(TOKEN_URL).mock(
        side_effect=[
            httpx.Response(200, json={"access_token": t, "expires_in": 7200}) for t in tokens
        ]
    )


async def test_stable_token_is_fetched_once_and_shared_through_the_database(wx, settings, engine):
    route = token_route(wx, "T1")
    async with httpx.AsyncClient() as http:
        first = await WechatApi(settings, engine, http).access_token()
        second = await WechatApi(settings, engine, http).access_token()  # "another process"
    assert first == second == "T1"
    assert route.call_count == 1
    sent = body(route.calls[0])
    assert sent == {
        "grant_type": "client_credential",
        "appid": "wx0123456789abcdef",
        "secret": "wxsecret",
        "force_refresh": False,
    }


async def test_a_token_near_expiry_is_refreshed_before_use(wx, settings, engine):
    route = token_route(wx, "OLD", "NEW")
    clock = [datetime(2026, 3, 2, 1, 0, tzinfo=settings.tz)]
    async with httpx.AsyncClient() as http:
        api = WechatApi(settings, engine, http, clock=lambda: clock[0])
        assert await api.access_token() == "OLD"
        clock[0] += timedelta(seconds=7200 - 60)  # one minute before expiry
        assert await api.access_token() == "NEW"
    assert route.call_count == 2


@pytest.mark.parametrize("errcode", [40001, 42001])
async def test_a_rejected_token_is_refreshed_once_and_the_call_retried(
    wx, settings, engine, errcode
):
    tokens = token_route(wx, "STALE", "FRESH")
    send = wx.post(CUSTOM_URL).mock(
        side_effect=[
            httpx.Response(200, json={"errcode": errcode, "errmsg": "invalid credential"}),
            httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}),
        ]
    )
    async with httpx.AsyncClient() as http:
        await WechatApi(settings, engine, http).send_text("oOPENID", "你好")
    assert [c.request.url.params["access_token"] for c in send.calls] == ["STALE", "FRESH"]
    assert body(tokens.calls[1])["force_refresh"] is True
    assert body(send.calls[0]) == {
        "touser": "oOPENID",
        "msgtype": "text",
        "text": {"content": "你好"},
    }
    assert "你好".encode() in send.calls[0].request.content  # real UTF-8, not \\u escapes


async def test_a_token_rejected_twice_is_an_error_not_a_loop(wx, settings, engine):
    token_route(wx, "A", "B")
    wx.post(CUSTOM_URL).respond(json={"errcode": 40001, "errmsg": "invalid credential"})
    async with httpx.AsyncClient() as http:
        with pytest.raises(WechatApiError) as err:
            await WechatApi(settings, engine, http).send_text("oOPENID", "hi")
    assert err.value.errcode == 40001


def outgoing(now, *, wrote_hours_ago: float | None, kind="notice") -> Outgoing:
    last = None if wrote_hours_ago is None else now - timedelta(hours=wrote_hours_ago)
    return Outgoing(1, "wechat", "oOPENID", "您的周记已批阅：90 分", kind, last)


@pytest.fixture
def templated(settings):
    t = settings.wechat.templates
    t.notice = WechatTemplate(id="TPL_NOTICE", fields={"thing1": "{summary}", "time2": "{date}"})
    t.nudge = WechatTemplate(id="TPL_NUDGE", fields={"thing1": "{summary}", "time2": "{date}"})
    return settings


async def test_inside_the_48_hour_window_a_custom_message_is_sent(wx, templated, engine, now):
    token_route(wx, "T")
    custom = wx.post(CUSTOM_URL).respond(json={"errcode": 0})
    template = wx.post(TEMPLATE_URL).respond(json={"errcode": 0, "msgid": 1})
    async with httpx.AsyncClient() as http:
        sender = WechatSender(WechatApi(templated, engine, http), templated)
        await sender.send(outgoing(now, wrote_hours_ago=47), now=now)
    assert custom.call_count == 1 and template.call_count == 0


async def test_outside_the_window_a_template_message_is_sent(wx, templated, engine, now):
    token_route(wx, "T")
    custom = wx.post(CUSTOM_URL).respond(json={"errcode": 0})
    template = wx.post(TEMPLATE_URL).respond(json={"errcode": 0, "msgid": 200228332})
    async with httpx.AsyncClient() as http:
        sender = WechatSender(WechatApi(templated, engine, http), templated)
        msgid = await sender.send(outgoing(now, wrote_hours_ago=49, kind="nudge"), now=now)
    assert msgid == "200228332" and custom.call_count == 0
    sent = body(template.calls[0])
    assert sent["template_id"] == "TPL_NUDGE" and sent["touser"] == "oOPENID"
    # No params given: the first line of the text and the day it is sent (SPEC section 9).
    assert sent["data"] == {
        "thing1": {"value": "您的周记已批阅：90 分"},
        "time2": {"value": "2026-03-02"},
    }


async def test_errcode_45015_falls_back_to_a_template(wx, templated, engine, now):
    token_route(wx, "T")
    wx.post(CUSTOM_URL).respond(json={"errcode": 45015, "errmsg": "response out of time limit"})
    template = wx.post(TEMPLATE_URL).respond(json={"errcode": 0, "msgid": 7})
    async with httpx.AsyncClient() as http:
        sender = WechatSender(WechatApi(templated, engine, http), templated)
        assert await sender.send(outgoing(now, wrote_hours_ago=1), now=now) == "7"
    assert body(template.calls[0])["template_id"] == "TPL_NOTICE"


async def test_errcode_45009_waits_for_tomorrows_quota(wx, templated, engine, now):
    token_route(wx, "T")
    wx.post(CUSTOM_URL).respond(json={"errcode": 45009, "errmsg": "reach max api daily quota"})
    async with httpx.AsyncClient() as http:
        sender = WechatSender(WechatApi(templated, engine, http), templated)
        with pytest.raises(SendError) as err:
            await sender.send(outgoing(now, wrote_hours_ago=1), now=now)
    assert not err.value.permanent
    assert err.value.retry_at == datetime(2026, 3, 3, 0, 5, tzinfo=templated.tz)


async def test_an_unsubscribed_user_is_a_permanent_failure(wx, templated, engine, now):
    token_route(wx, "T")
    wx.post(CUSTOM_URL).respond(json={"errcode": 43004, "errmsg": "require subscribe"})
    async with httpx.AsyncClient() as http:
        sender = WechatSender(WechatApi(templated, engine, http), templated)
        with pytest.raises(SendError) as err:
            await sender.send(outgoing(now, wrote_hours_ago=1), now=now)
    assert err.value.permanent


async def test_no_template_configured_outside_the_window_is_retried_not_crashed(
    wx, settings, engine, now
):
    async with httpx.AsyncClient() as http:
        sender = WechatSender(WechatApi(settings, engine, http), settings)
        with pytest.raises(SendError, match="no wechat template"):
            await sender.send(outgoing(now, wrote_hours_ago=None), now=now)


async def test_the_menu_is_published_with_three_buttons_and_click_keys(wx, settings, engine):
    from tests.bot.fake_wechat_menus import FakeWechatMenus

    fake = FakeWechatMenus().install(wx)
    async with httpx.AsyncClient() as http:
        await publish_menu(settings, engine, http)
    sent = fake.default  # the default menu; each role's is published beside it (bot.menus)
    names = [b["name"] for b in sent["button"]]
    assert names == ["签到", "写日志", "我的"]
    assert sent["button"][0]["type"] == "location_select"
    subs = {s["name"]: s["key"] for b in sent["button"] for s in b.get("sub_button", [])}
    assert subs["维权求助"] == "REPORT" and subs["我的状态"] == "STATUS"
    created = [c for c in wx.calls if c.request.url.path == "/cgi-bin/menu/create"]
    assert "签到".encode() in created[0].request.content
