"""A school admin bound in chat with `shixi invite school-admin` gets 失联 alerts there, with
the alert numbers that 处理 takes."""

from __future__ import annotations

from datetime import date

from sched_helpers import at, check_in, rows
from sqlmodel import Session, select

from bot.pipeline import Pipeline
from bot.types import Inbound
from core.invites import issue_invite
from models import Alert, ConsoleUser

LAST = date(2026, 2, 28)  # an official make-up workday
MON, TUE, WED = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def _say(pipeline: Pipeline, user: str, text: str, when) -> str:
    inbound = Inbound(channel="wechat", user_id=user, at=when, text=text, kind="text")
    return "\n".join(r.text for r in pipeline(inbound))


def test_a_school_admin_bound_in_chat_gets_the_lost_contact_list_and_handles_an_alert(
    engine, settings, session, student, sweep
):
    admin = ConsoleUser(username="gzjt", password_hash="x", role="school", school_id=1)
    session.add(admin)
    session.flush()
    code = issue_invite(
        session, person_kind="school_admin", person_id=admin.id, school_id=1,
        now=at(LAST, 8), ttl_days=7,
    ).code  # fmt: skip
    session.commit()
    pipeline = Pipeline(engine, settings)
    assert _say(pipeline, "admin-openid", f"绑定 {code}", at(LAST, 9)).startswith(
        "绑定成功：学校管理员 gzjt"
    )
    check_in(session, student, LAST)
    for day in (MON, TUE, WED):
        sweep(day, 11, 0)

    [notice] = rows(engine, "lost_contact", person_kind="school_admin")
    with Session(engine) as s:
        lost = s.exec(select(Alert).where(Alert.kind == "lost_contact")).one()
    assert notice.to_external_id == "admin-openid" and notice.channel == "wechat"
    assert "【失联预警】" in notice.text and f"（预警 A{lost.id}）" in notice.text
    assert notice.text.endswith("回复“处理 A编号 说明”记录处理情况。")
    [digest] = rows(engine, "teacher_digest", day=WED)
    assert f"（预警 A{lost.id}）" in digest.text

    reply = _say(pipeline, "admin-openid", f"处理 A{lost.id} 已联系家长", at(WED, 11, 30))

    assert reply.startswith(f"预警 A{lost.id} 已更新为「处理中」")
