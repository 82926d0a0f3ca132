"""Invite pages: classes filtered and paged, sheets that name only the channels that are on,
with WeChat parametric QR codes (qrcode/create, scene = the code) made once per code."""

from __future__ import annotations

import json
import re

import httpx
import respx
from sqlmodel import select

from models import ApiCredential, InviteCode
from tests.api.console_world import build_world, csrf_of, login, make_client
from tests.factories import make_student

WX = "https://api.weixin.qq.com"


def _signed_in(settings, engine, now, role="school_a"):
    client = make_client(settings, engine, now)
    login(client, role)
    return client, csrf_of(client.get("/admin/students").text)


def test_the_class_list_filters_and_pages(settings, engine, session, now):
    build_world(session, now)
    for i in range(7):
        make_student(session, student_no=f"C{i:03d}", class_name=f"物流23{i:02d}")
    session.commit()
    small = settings.model_copy(deep=True)
    small.console.page_size = 3
    client, _ = _signed_in(small, engine, now, "province")
    first = client.get("/admin/invites").text
    assert "共 10 个班级" in first and "第 1 / 4 页" in first and "跳到" in first
    found = client.get("/admin/invites?q=物流2306").text
    assert "共 1 个班级" in found and "物流2306" in found
    page = client.get("/admin/invites?sort=class_name&desc=1&page_size=20").text
    assert page.index("物流2306") < page.index("物流2300")
    unbound = client.get("/admin/invites?unbound=1").text
    assert "共 10 个班级" in unbound  # nobody is bound yet


def test_a_sheet_names_only_the_channels_that_are_on(settings, engine, session, now):
    world = build_world(session, now)
    wechat_only = settings.model_copy(deep=True)
    wechat_only.telegram.token = ""
    wechat_only.wechat.app_secret = ""  # no QR codes without the API
    wechat_only.wechat.account_name = "贵州交院实习"
    client, csrf = _signed_in(wechat_only, engine, now)
    class_id = world.ids["mine"]["class"]
    client.post("/admin/invites", data={"class_id": class_id, "csrf": csrf})
    sheet = client.get(f"/admin/invites/{class_id}").text
    assert "关注「贵州交院实习」" in sheet and "Telegram" not in sheet
    telegram_only = settings.model_copy(deep=True)
    telegram_only.wechat.token = ""
    telegram_only.telegram.bot_username = "gzjt_bot"
    client, _ = _signed_in(telegram_only, engine, now)
    sheet = client.get(f"/admin/invites/{class_id}").text
    assert "@gzjt_bot" in sheet and "公众号" not in sheet


def test_each_code_gets_a_wechat_qr_code_made_once(settings, engine, session, now):
    world = build_world(session, now)
    client, csrf = _signed_in(settings, engine, now)
    class_id = world.ids["mine"]["class"]
    client.post("/admin/invites", data={"class_id": class_id, "csrf": csrf})
    code = session.exec(select(InviteCode.code).where(InviteCode.person_kind == "student")).one()
    issued = len(session.exec(select(InviteCode.code)).all())  # with the parent's and teacher's
    with respx.mock(assert_all_called=True) as mock:
        mock.post(f"{WX}/cgi-bin/stable_token").respond(
            json={"access_token": "TOKEN", "expires_in": 7200}
        )
        created = mock.post(f"{WX}/cgi-bin/qrcode/create").respond(
            json={"ticket": "T1", "expire_seconds": 2592000, "url": "http://weixin.qq.com/q/02abc"}
        )
        sheet = client.get(f"/admin/invites/{class_id}").text
        assert f'data-code="{code}"' in sheet and "<svg" in sheet and "扫描二维码" in sheet
        body = json.loads(created.calls[0].request.content)
        assert body["action_name"] == "QR_STR_SCENE"
        assert body["action_info"] == {"scene": {"scene_str": code}}
        assert created.calls[0].request.url.params["access_token"] == "TOKEN"
        assert 0 < body["expire_seconds"] <= 2592000
        client.get(f"/admin/invites/{class_id}")  # printed again: no second call
        assert created.call_count == issued
    stored = session.exec(select(ApiCredential).where(ApiCredential.name == f"wechat_qr:{code}"))
    assert stored.one().value == "http://weixin.qq.com/q/02abc"


def test_a_wechat_failure_still_prints_the_codes(settings, engine, session, now):
    world = build_world(session, now)
    client, csrf = _signed_in(settings, engine, now)
    class_id = world.ids["mine"]["class"]
    client.post("/admin/invites", data={"class_id": class_id, "csrf": csrf})
    with respx.mock() as mock:
        mock.post(f"{WX}/cgi-bin/stable_token").mock(side_effect=httpx.ConnectError("down"))
        sheet = client.get(f"/admin/invites/{class_id}")
    assert sheet.status_code == 200 and 'id="qr-error"' in sheet.text
    assert re.search(r'class="code">\w+<', sheet.text) and "<svg" not in sheet.text
    assert "关注后发送“绑定 邀请码”" in sheet.text or "发送“绑定 邀请码”" in sheet.text
