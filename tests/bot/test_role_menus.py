"""Menus per role: WeChat tags and conditional menus, Telegram commands per chat; each role
binds in chat and gets its own menu."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from sqlmodel import select

from api.commands.channels import publish_menu
from bot.menu_push import publish_telegram_commands
from bot.menus import ROLE_TAGS, WECHAT_MENUS, menu_problems
from bot.outbox import build_senders, deliver_due
from bot.pipeline import Pipeline
from bot.types import Inbound
from core.invites import issue_invite
from models import OutboxMessage
from tests.bot.fake_wechat_menus import FakeWechatMenus
from tests.factories import bind, make_roles

TG = "https://api.telegram.org/bot123456:TEST-TOKEN"


@pytest.fixture
def wx():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield FakeWechatMenus().install(mock)


def _bytes(text: str) -> int:
    return len(text.encode())


@pytest.mark.parametrize("role", list(WECHAT_MENUS))
def test_each_role_menu_has_the_shape_wechat_documents(role):
    menu = WECHAT_MENUS[role]

    assert menu_problems(menu) == []
    buttons = menu["button"]
    assert 1 <= len(buttons) <= 3
    for button in buttons:
        assert _bytes(button["name"]) <= 16
        assert len(button.get("sub_button", [])) <= 5
        for sub in button.get("sub_button", []):
            assert _bytes(sub["name"]) <= 60 and _bytes(sub.get("key", "")) <= 128


def test_teachers_get_today_and_todo_and_parents_their_childs_status():
    names = {role: [b["name"] for b in m["button"]] for role, m in WECHAT_MENUS.items()}
    assert names["teacher"][:2] == ["今日", "待办"]
    assert "孩子状态" in names["parent"]
    assert names["student"] == ["签到", "写日志", "我的"]


def test_the_validator_refuses_what_wechat_refuses():
    click = {"type": "click", "name": "帮助", "key": "HELP"}
    assert menu_problems({"button": [click] * 4})
    assert menu_problems({"button": [{"name": "更多", "sub_button": [click] * 6}]})
    assert menu_problems({"button": [{**click, "name": "孩子今日状态"}]})  # 18 bytes on top
    assert menu_problems({"button": [{**click, "key": "K" * 129}]})
    assert menu_problems({"button": [{**click, "key": "NO_SUCH_KEY"}]})
    assert menu_problems({"button": [click]}, conditional=True)  # no matchrule.tag_id
    assert menu_problems({"button": [click], "matchrule": {"tag_id": "2"}}, conditional=True) == []


async def test_publishing_creates_missing_tags_and_a_menu_per_role(wx, settings, engine):
    wx.tags[7] = "家长"  # made by hand earlier: reused, not created again

    async with httpx.AsyncClient() as http:
        done = await publish_menu(settings, engine, http)

    assert sorted(wx.tags.values()) == sorted(ROLE_TAGS.values())
    assert done["tags"]["parent"] == 7 and done["menus"] == len(ROLE_TAGS)
    assert wx.default == WECHAT_MENUS["student"] and not wx.refused
    by_tag = {int(m["matchrule"]["tag_id"]): m["button"] for m in wx.conditional}
    for role, tag_id in done["tags"].items():
        assert by_tag[tag_id] == WECHAT_MENUS[role]["button"]


def _bind_over_wechat(engine, settings, session, now, kind, person_id, school_id, openid):
    code = issue_invite(
        session, person_kind=kind, person_id=person_id, school_id=school_id, now=now, ttl_days=7
    ).code
    session.commit()
    inbound = Inbound(channel="wechat", user_id=openid, at=now, text=f"绑定 {code}", kind="text")
    return "\n".join(r.text for r in Pipeline(engine, settings)(inbound))


async def test_each_role_binds_in_wechat_and_gets_its_own_menu(wx, settings, engine, session, now):
    world = make_roles(session)
    async with httpx.AsyncClient() as http:
        await publish_menu(settings, engine, http)
        for who, (kind, person_id, school_id, name) in world.items():
            reply = _bind_over_wechat(
                engine, settings, session, now, kind, person_id, school_id, f"o-{who}"
            )
            assert reply.startswith(f"绑定成功：{name}")
        senders = build_senders(settings, http, engine=engine)
        await deliver_due(engine, settings, now=now, senders=senders)

    session.expire_all()
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "role_menu")).all()
    assert {r.status for r in rows} == {"sent"} and len(rows) == len(world)
    for who, (kind, *_rest) in world.items():
        assert wx.menu_for(f"o-{who}")["button"] == WECHAT_MENUS[kind]["button"], who
        assert [wx.tags[t] for t in wx.user_tags[f"o-{who}"]] == [ROLE_TAGS[kind]]


async def test_unbinding_takes_the_role_menu_away(wx, settings, engine, session, now):
    world = make_roles(session)
    async with httpx.AsyncClient() as http:
        await publish_menu(settings, engine, http)
        kind, person_id, school_id, _ = world["teacher"]
        _bind_over_wechat(engine, settings, session, now, kind, person_id, school_id, "o-t")
        senders = build_senders(settings, http)
        await deliver_due(engine, settings, now=now, senders=senders)
        assert wx.menu_for("o-t") == wx.conditional[list(ROLE_TAGS).index("teacher")]
        inbound = Inbound(channel="wechat", user_id="o-t", at=now, text="解绑", kind="text")
        Pipeline(engine, settings)(inbound)
        await deliver_due(engine, settings, now=now, senders=senders)

    assert wx.user_tags["o-t"] == [] and wx.menu_for("o-t") == WECHAT_MENUS["student"]


async def test_telegram_commands_are_set_per_bound_chat_by_role(settings, engine, session):
    world = make_roles(session)
    chats = {"student": "101", "teacher": "102", "parent": "103"}
    for who, chat_id in chats.items():
        kind, person_id, school_id, _ = world[who]
        bind(session, person_kind=kind, person_id=person_id, channel="telegram",
             external_id=chat_id, school_id=school_id)  # fmt: skip
    session.commit()
    with respx.mock(assert_all_mocked=True) as mock:
        calls = mock.post(f"{TG}/setMyCommands").respond(json={"ok": True, "result": True})
        async with httpx.AsyncClient() as http:
            count = await publish_telegram_commands(http, engine, settings)

    sent = [json.loads(c.request.content) for c in calls.calls]
    assert count == 3 and sent[0]["scope"] == {"type": "default"}
    assert [c["command"] for c in sent[0]["commands"]] == ["bind", "help"]
    by_chat = {s["scope"]["chat_id"]: [c["command"] for c in s["commands"]] for s in sent[1:]}
    assert all(s["scope"]["type"] == "chat" for s in sent[1:])
    assert by_chat["101"][:3] == ["status", "journal", "report"]
    assert by_chat["102"][:2] == ["today", "todo"]
    assert by_chat["103"] == ["status", "help"]


async def test_a_telegram_user_who_binds_gets_the_commands_of_the_role(
    settings, engine, session, now
):
    kind, person_id, school_id, _ = make_roles(session)["mentor"]
    code = issue_invite(
        session, person_kind=kind, person_id=person_id, school_id=school_id, now=now, ttl_days=7
    ).code
    session.commit()
    inbound = Inbound(
        channel="telegram", user_id="555", at=now, text=code, kind="command",
        intent="bind", language="en",
    )  # fmt: skip
    Pipeline(engine, settings)(inbound)
    with respx.mock(assert_all_called=False) as mock:
        calls = mock.post(f"{TG}/setMyCommands").respond(json={"ok": True, "result": True})
        mock.post(f"{TG}/sendMessage").respond(json={"ok": True, "result": {"message_id": 1}})
        async with httpx.AsyncClient() as http:
            await deliver_due(engine, settings, now=now, senders=build_senders(settings, http))

    [call] = calls.calls
    sent = json.loads(call.request.content)
    assert sent["scope"] == {"type": "chat", "chat_id": "555"}
    assert [c["command"] for c in sent["commands"]] == ["today", "grade", "help"]
    assert sent["commands"][0]["description"] == "Interns' check-ins today"
