"""The dashboard's live feed: the latest check-ins, journals and tickets (never coordinates)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from core.scope import condition
from models import CheckIn, ConsoleUser, Journal, School, Student, Ticket

FEED_SIZE = 20
CHECKIN_KINDS = {"start": "上班签到", "end": "下班签到"}
JOURNAL_KINDS = {"daily": "日报", "weekly": "周记", "monthly": "月报", "summary": "总结"}
TICKET_CATEGORIES = {
    "wages": "工资",
    "overtime": "加班/工时",
    "safety": "安全",
    "harassment": "骚扰/人身",
    "fees": "收费/押金/中介",
    "housing": "食宿",
    "contract": "协议/保险",
    "other": "其他",
}


def _latest(session: Session, user: ConsoleUser, model, stamp, extra, limit: int):
    return session.execute(
        select(stamp, Student.name, School.name, *extra)
        .join(Student, Student.id == model.student_id)
        .join(School, School.id == model.school_id)
        .where(condition(user, model))
        .order_by(stamp.desc())
        .limit(limit)
    ).all()


def latest_actions(session: Session, user: ConsoleUser, *, limit: int = FEED_SIZE) -> list[dict]:
    """Newest first; each item: at, kind, text, student, school."""
    items = []
    for at, student, school, kind, inside in _latest(
        session, user, CheckIn, CheckIn.at, (CheckIn.kind, CheckIn.within_fence), limit
    ):
        text = CHECKIN_KINDS.get(kind, "签到") + ("" if inside else "（范围外）")
        items.append((at, "checkin", text, student, school))
    for at, student, school, kind in _latest(
        session, user, Journal, Journal.submitted_at, (Journal.kind,), limit
    ):
        items.append((at, "journal", "提交" + JOURNAL_KINDS.get(kind, "日志"), student, school))
    for at, student, school, category in _latest(
        session, user, Ticket, Ticket.created_at, (Ticket.category,), limit
    ):
        text = "反馈问题：" + TICKET_CATEGORIES.get(category, category)
        items.append((at, "ticket", text, student, school))
    items.sort(key=lambda i: i[0], reverse=True)
    return [
        {"at": at.isoformat(), "kind": k, "text": t, "student": s, "school": sc}
        for at, k, t, s, sc in items[:limit]
    ]
