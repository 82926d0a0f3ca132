"""Rendering and re-checking outbox messages at send time (the scheduler's kinds)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import exists, select
from sqlmodel import Session

from core.due import present_clause
from core.settings import TEMPLATE_PLACEHOLDERS
from models import ChannelAccount, CheckIn, Journal, OutboxMessage

WEEKDAYS_ZH = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

NUDGE_ZH = (
    "同学你好，今天{day}还没有收到你的上班签到。请发送你的位置完成签到；"
    "如果今天休息或请假，请告诉指导教师。"
)
NUDGE_EN = (
    "Hello! We have not received your check-in for today ({day}) yet. Please send your "
    "location to check in; if you are off today, please tell your teacher."
)
JOURNAL_REMINDER_ZH = (
    "同学你好，本周周记还没有提交，截止时间是{due}（周日）23:59。发送“周记”即可开始填写。"
)
JOURNAL_REMINDER_EN = (
    "Hello! This week's weekly journal is still missing; it is due {due} (Sunday) 23:59. "
    "Send /journal to write it."
)

# Kinds whose text is rendered here from kind + day when sent (cheap to queue in bulk).
RENDERED_AT_SEND = ("nudge", "journal_reminder")
# What a template message says (one field, at most 20 characters) for kinds queued in bulk
# without params of their own (SPEC section 9).
SUMMARIES = {
    "nudge": "今日尚未签到，请发送位置",
    "journal_reminder": "本周周记尚未提交",
    "teacher_digest": "有学生今日未签到",
    "lost_contact": "有学生失联，请尽快联系",
    "journal_digest": "有学生周记未提交",
    "grading_digest": "有新的日志待批阅",
}


def format_day(day: date, lang: str = "zh") -> str:
    """3月2日（周一） / Mon 2 Mar."""
    if lang == "en":
        return f"{WEEKDAYS_EN[day.weekday()]} {day.day} {day.strftime('%b')}"
    return f"{day.month}月{day.day}日（周{WEEKDAYS_ZH[day.weekday()]}）"


def still_relevant(session: Session, row: OutboxMessage, now: datetime) -> bool:
    """False when what the message says is no longer true (e.g. the student has checked in)."""
    if row.expires_at is not None and now >= row.expires_at:
        return False
    if row.kind == "nudge" and row.day is not None:
        return not _checked_in(session, row.person_id, CheckIn.day == row.day)
    if row.kind == "parent_alert" and row.day is not None:
        # Held by quiet hours, an alert about a silent child is dropped once the child reappears.
        student_id = row.params.get("student_id")
        return not _checked_in(session, student_id, CheckIn.day >= row.day)
    if row.kind == "journal_reminder" and row.day is not None:
        return not session.execute(
            select(
                exists().where(
                    Journal.student_id == row.person_id,
                    Journal.kind == "weekly",
                    Journal.period_start == row.day,
                )
            )
        ).scalar()
    return True


def render(session: Session, row: OutboxMessage) -> str:
    """The text to send: the stored text, or one rendered from kind + params."""
    if row.text:
        return row.text
    if row.kind not in RENDERED_AT_SEND or row.day is None:
        return row.text or ""
    lang = _language(session, row)
    if row.kind == "nudge":
        template = NUDGE_EN if lang == "en" else NUDGE_ZH
        return template.format(day=format_day(row.day, lang))
    due = row.day + timedelta(days=6)  # row.day is the week's Monday
    template = JOURNAL_REMINDER_EN if lang == "en" else JOURNAL_REMINDER_ZH
    return template.format(due=f"{due.day} {due.strftime('%b')}" if lang == "en" else _md(due))


def push_params(row) -> dict:
    """The structured fields of a push (student, date, summary, ...) for its template message."""
    params = row.params or {}
    out = {
        name: params[name] for name in TEMPLATE_PLACEHOLDERS if params.get(name) not in (None, "")
    }
    if "date" not in out and row.day is not None:
        out["date"] = row.day.isoformat()
    if "summary" not in out and row.kind in SUMMARIES:
        out["summary"] = SUMMARIES[row.kind]
    return out


def _md(day: date) -> str:
    return f"{day.month}月{day.day}日"


def _checked_in(session: Session, student_id, day_clause) -> bool:
    if student_id is None:
        return False
    return bool(
        session.execute(
            select(exists().where(CheckIn.student_id == student_id, day_clause, present_clause()))
        ).scalar()
    )


def _language(session: Session, row: OutboxMessage) -> str:
    lang = session.execute(
        select(ChannelAccount.language).where(
            ChannelAccount.channel == row.channel,
            ChannelAccount.external_id == row.to_external_id,
        )
    ).scalar()
    return "en" if (lang or "").startswith("en") else "zh"
