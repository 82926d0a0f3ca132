"""Reaching silent people in the real WeChat (SPEC section 9): template messages and /m/ pages.

The fake WeChat refuses free-form messages to anyone silent for 48 hours and template fields
longer than 20 characters, as the real one does; the parent alert and the nudge must still
arrive, and their links must open the whole message, and nothing for a forged or old link.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx
import pytest
from fake_wechat import FIELD_MAX, FakeWechat
from fastapi.testclient import TestClient
from sched_helpers import at, rows
from sqlalchemy import update

from api.app import create_app
from bot.outbox import deliver_due
from bot.senders import WechatSender
from bot.wechat_api import WechatApi
from core.message_links import link_key, make_token
from core.settings import WechatTemplate
from models import ChannelAccount

MON, TUE = date(2026, 3, 2), date(2026, 3, 3)
PUBLIC = "https://shixi.example.edu.cn"
ABSENCE_ID = "iPk5sOIt5X_flOVKn5GrTFpncEYTojx6ddbt8WYoV5s"
NUDGE_ID = "Ly8f8TUv2BtOGyl3xKy8Ah6dXGvHkvB9C1ZIsqVc7A0"
NOTICE_ID = "bOGYvIxEx2D0GgqNUBmRb3E1bDfxVG6nXEIlWq8Kk_Q"
LONG_NAME = "欧阳娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜"  # 23 characters: must be cut


@pytest.fixture
def reach(settings, engine, session, student):
    """Templates configured; everyone on WeChat, the student and parent silent for days."""
    t = settings.wechat.templates
    t.absence = WechatTemplate(
        id=ABSENCE_ID, fields={"thing1": "{student}", "time2": "{date}", "thing3": "{summary}"}
    )
    t.nudge = WechatTemplate(
        id=NUDGE_ID, fields={"thing3": "{student}", "time1": "{date}", "thing2": "{summary}"}
    )
    t.notice = WechatTemplate(id=NOTICE_ID, fields={"thing1": "{summary}", "time2": "{date}"})
    settings.server.public_url = PUBLIC
    from models import Student

    session.get(Student, student).name = LONG_NAME
    teacher_wrote = at(MON, 8)
    session.execute(update(ChannelAccount).values(channel="wechat"))
    session.execute(
        update(ChannelAccount)
        .where(ChannelAccount.person_kind == "student")
        .values(last_inbound_at=at(MON, 0) - timedelta(days=3))
    )
    session.execute(
        update(ChannelAccount)
        .where(ChannelAccount.person_kind == "teacher")
        .values(last_inbound_at=teacher_wrote)
    )
    session.commit()
    return {"S001": at(MON, 0) - timedelta(days=3), "teacher": teacher_wrote}


def deliver(settings, engine, fake: FakeWechat) -> int:
    async def run():
        async with httpx.AsyncClient(transport=fake.transport()) as http:
            sender = WechatSender(WechatApi(settings, engine, http), settings)
            return await deliver_due(engine, settings, now=fake.now, senders={"wechat": sender})

    return asyncio.run(run())


def page(settings, engine, url: str, *, now):
    app = create_app(settings, engine=engine)
    app.state.clock = lambda: now
    with TestClient(app) as client:
        return client.get(url.removeprefix(PUBLIC))


def sent_to(fake: FakeWechat, openid: str) -> dict:
    [sent] = [s for s in fake.template_sends if s["touser"] == openid]
    return sent


def values(sent: dict) -> dict:
    return {key: item["value"] for key, item in sent["data"].items()}


def test_the_nudge_to_a_silent_student_goes_as_a_template_with_a_link(
    reach, settings, engine, sweep
):
    sweep(MON, 9, 31)
    fake = FakeWechat(now=at(MON, 9, 31), last_wrote=reach)
    assert deliver(settings, engine, fake) >= 1
    nudge = sent_to(fake, "S001")
    assert nudge["template_id"] == NUDGE_ID
    assert values(nudge) == {
        "thing3": LONG_NAME[:19] + "…",  # cut to 20 characters
        "time1": "2026-03-02",
        "thing2": "今日尚未签到，请发送位置",
    }
    assert nudge["url"].startswith(f"{PUBLIC}/m/")
    [row] = rows(engine, "nudge")
    assert row.status == "sent"
    shown = page(settings, engine, nudge["url"], now=at(MON, 10))
    assert shown.status_code == 200
    assert "还没有收到你的上班签到。请发送你的位置完成签到" in shown.text
    assert "3月2日（周一）" in shown.text


def test_the_parent_alert_goes_as_a_template_and_its_page_shows_it_whole(
    reach, settings, engine, sweep
):
    sweep(MON, 11, 0)  # silent since the placement began: told on the first sweep
    fake = FakeWechat(now=at(MON, 11, 0), last_wrote=reach)
    deliver(settings, engine, fake)
    [row] = rows(engine, "parent_alert")
    [alert] = [
        s
        for s in fake.template_sends
        if s["touser"].startswith("parent-") and s["template_id"] == ABSENCE_ID
    ]
    filled = values(alert)
    assert all(0 < len(v) <= FIELD_MAX for v in filled.values())
    assert filled["thing1"] == LONG_NAME[: FIELD_MAX - 1] + "…"
    assert filled["time2"] == "2026-03-02"
    assert filled["thing3"] == row.params["summary"]
    assert filled["thing3"].startswith("连续") and filled["thing3"].endswith("个工作日未签到")
    # The teacher wrote an hour ago: free text, no template.
    assert any(c["touser"] == "teacher" for c in fake.custom)
    assert not [s for s in fake.template_sends if s["touser"] == "teacher"]
    assert not [r for r in fake.refused if r[0] == "template"]
    [row] = rows(engine, "parent_alert")
    assert row.status == "sent"
    shown = page(settings, engine, alert["url"], now=at(TUE, 12))
    assert shown.status_code == 200
    assert row.text in shown.text  # the whole message, with the full name
    assert LONG_NAME in shown.text
    assert "总览" not in shown.text  # nothing of the console


def test_forged_and_expired_links_are_refused_in_chinese(reach, settings, engine, sweep):
    sweep(MON, 9, 31)
    fake = FakeWechat(now=at(MON, 9, 31), last_wrote=reach)
    deliver(settings, engine, fake)
    url = sent_to(fake, "S001")["url"]
    token = url.rsplit("/", 1)[1]
    [row] = rows(engine, "nudge")
    other_key = make_token("not-our-key", row.id, at(TUE, 0))
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        other_key,
        token.replace(f"{row.id}.", f"{row.id + 1}.", 1),  # another message, same signature
        "abc",
        "x" * 2000,
    ]
    for bad in forged:
        shown = page(settings, engine, f"{PUBLIC}/m/{bad}", now=at(MON, 10))
        assert shown.status_code == 404, bad
        assert "链接无效" in shown.text and "请发送你的位置" not in shown.text
    later = page(settings, engine, url, now=at(MON, 10) + timedelta(days=31))
    assert later.status_code == 410
    assert "链接已过期" in later.text and "请发送你的位置" not in later.text
    past = make_token(link_key(settings, engine), row.id, at(MON, 9))
    assert page(settings, engine, f"{PUBLIC}/m/{past}", now=at(MON, 10)).status_code == 410


def test_a_kind_without_its_template_uses_notice_and_none_at_all_is_a_clear_failure(
    reach, settings, engine, sweep
):
    settings.wechat.templates.nudge = WechatTemplate()
    sweep(MON, 9, 31)
    fake = FakeWechat(now=at(MON, 9, 31), last_wrote=reach)
    deliver(settings, engine, fake)
    assert sent_to(fake, "S001")["template_id"] == NOTICE_ID
    settings.wechat.templates.notice = WechatTemplate()
    sweep(TUE, 9, 31)
    fake = FakeWechat(now=at(TUE, 9, 31), last_wrote=reach)
    deliver(settings, engine, fake)
    [tuesday] = [r for r in rows(engine, "nudge") if r.day == TUE]
    assert tuesday.status == "pending" and "no wechat template" in tuesday.last_error
    assert not fake.template_sends


def test_wechat_refusing_free_text_inside_our_window_still_gets_the_template_through(
    reach, settings, engine, session, sweep
):
    """Our record says 47 hours, WeChat counts 49 (a message we missed): 45015, then template."""
    session.execute(
        update(ChannelAccount)
        .where(ChannelAccount.person_kind == "student")
        .values(last_inbound_at=at(MON, 9, 31) - timedelta(hours=47))
    )
    session.commit()
    sweep(MON, 9, 31)
    fake = FakeWechat(now=at(MON, 9, 31), last_wrote={"S001": at(MON, 9, 31) - timedelta(hours=49)})
    deliver(settings, engine, fake)
    assert ("custom", 45015) in fake.refused
    assert sent_to(fake, "S001")["template_id"] == NUDGE_ID
    [row] = rows(engine, "nudge")
    assert row.status == "sent"


def test_the_page_of_an_erased_message_is_gone_not_an_error(reach, settings, engine, sweep):
    from sqlalchemy import delete

    from models import OutboxMessage

    sweep(MON, 9, 31)
    fake = FakeWechat(now=at(MON, 9, 31), last_wrote=reach)
    deliver(settings, engine, fake)
    url = sent_to(fake, "S001")["url"]
    with engine.begin() as conn:  # as `shixi privacy erase` removes a student's messages
        conn.execute(delete(OutboxMessage))
    shown = page(settings, engine, url, now=at(MON, 10))
    assert shown.status_code == 404 and "这条消息已不存在" in shown.text
