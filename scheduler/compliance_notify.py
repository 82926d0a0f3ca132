"""Compliance messages: new critical findings to the student's teacher at once (one list per
teacher), and a weekly summary of open findings to each school admin bound in chat."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import select, update
from sqlmodel import Session

from core.compliance import RULES
from core.compliance_facts import CRITICAL
from core.settings import Settings
from models import ComplianceTally, ConsoleUser, Finding, School, SchoolClass, Student
from scheduler.days import weekly_moment_due
from scheduler.fanout import Message, enqueue_all

MAX_LINES = 20
NEW_HEAD = "【合规提醒】您指导的学生有 {n} 项严重问题需要核查："
NEW_LINE = "{i}. {name}（{cls}）{title}：{detail}"
NEW_TAIL = "请尽快核实处理，证据和处理入口见控制台“合规”页。"
MORE = "……另有 {n} 项，请在控制台查看。"
WEEKLY = (
    "【合规周报】{school}，截至 {day}：在岗实习 {n} 人，其中 {bad} 人有未处理的合规问题"
    "（{share}）。{rules}。数据缺失无法判断的 {unknown} 人。详情见控制台“合规”页。"
)
WEEKLY_NONE = "【合规周报】{school}，截至 {day}：在岗实习 {n} 人，没有未处理的合规问题。"
DETAIL_CHARS = 40


def notify_teachers(session: Session, settings: Settings, today: date, now: datetime) -> int:
    """One message per teacher listing the critical findings nobody was told of; returns rows."""
    f = Finding
    pending = (f.severity == CRITICAL) & (f.status == "open") & f.notified_at.is_(None)
    rows = session.execute(
        select(f.id, f.rule, f.detail, f.school_id, Student.teacher_id, Student.name,
               SchoolClass.name)
        .join(Student, Student.id == f.student_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .where(pending, Student.teacher_id.is_not(None))
        .order_by(Student.teacher_id, f.id)
    ).all()  # fmt: skip
    lists: dict[int, list] = defaultdict(list)
    for row in rows:
        lists[row[4]].append(row)
    messages = []
    for teacher_id, items in lists.items():
        lines = [NEW_HEAD.format(n=len(items))]
        for i, (_, rule, detail, *_rest, name, cls) in enumerate(items[:MAX_LINES], start=1):
            title = RULES[rule].title if rule in RULES else rule
            lines.append(NEW_LINE.format(i=i, name=name, cls=cls or "未分班", title=title,
                                         detail=detail[:DETAIL_CHARS]))  # fmt: skip
        if len(items) > MAX_LINES:
            lines.append(MORE.format(n=len(items) - MAX_LINES))
        lines.append(NEW_TAIL)
        messages.append(
            Message(
                person_kind="teacher",
                person_id=teacher_id,
                key=f"compliance_new:{teacher_id}:{items[-1][0]}",
                kind="compliance",
                text="\n".join(lines),
                school_id=items[0][3],
                day=today,
                params={"finding_ids": [item[0] for item in items]},
            )
        )
    queued = enqueue_all(session, messages, now) if messages else 0
    session.execute(
        update(Finding)
        .where(pending)
        .values(notified_at=now)
        .execution_options(synchronize_session=False)
    )
    return queued


def sweep_compliance_summary(session: Session, settings: Settings, now: datetime) -> int:
    """Weekly ([compliance] weekly_summary): each school admin's open findings, by rule."""
    monday = weekly_moment_due(now, settings, settings.compliance.weekly_summary)
    if monday is None or not settings.compliance.enabled:
        return 0
    t = ComplianceTally
    tallies: dict[int, dict[str, ComplianceTally]] = defaultdict(dict)
    for row in session.scalars(select(t)):
        tallies[row.school_id][row.rule] = row
    admins = session.execute(
        select(ConsoleUser.id, ConsoleUser.school_id, School.name)
        .join(School, School.id == ConsoleUser.school_id)
        .where(ConsoleUser.role == "school", ConsoleUser.active.is_(True))
    ).all()
    day = now.astimezone(settings.tz).date()
    messages = []
    for admin_id, school_id, school in admins:
        rows = tallies.get(school_id)
        if not rows or "*" not in rows:
            continue
        messages.append(
            Message(
                person_kind="school_admin",
                person_id=admin_id,
                key=f"compliance_weekly:{admin_id}:{monday}",
                kind="compliance_weekly",
                text=weekly_text(school, day, rows),
                school_id=school_id,
                day=monday,
            )
        )
    return enqueue_all(session, messages, now) if messages else 0


def weekly_text(school: str, day: date, rows: dict) -> str:
    total = rows["*"]
    if not total.open:
        return WEEKLY_NONE.format(school=school, day=day, n=total.placements)
    by_rule = sorted(
        ((r.open, RULES[k].title) for k, r in rows.items() if k in RULES and r.open),
        reverse=True,
    )
    share = f"{total.open / total.placements:.0%}" if total.placements else "—"
    return WEEKLY.format(
        school=school, day=day, n=total.placements, bad=total.open, share=share,
        rules="；".join(f"{title} {n} 项" for n, title in by_rule[:8]), unknown=total.unknown,
    )  # fmt: skip


__all__ = ["notify_teachers", "sweep_compliance_summary"]
