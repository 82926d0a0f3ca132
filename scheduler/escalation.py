"""At shift start + 2 h: teacher digests, parent alerts (2nd missed day), 失联 alerts (3rd)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from core.notices import format_day
from core.settings import Settings
from models import Alert, ConsoleUser, Guardianship, School, Teacher
from scheduler.absences import Absentee, find_absentees
from scheduler.days import day_end, due_windows, local
from scheduler.fanout import Message, chunks, enqueue_all

MAX_LINES = 30  # longer lists end with a pointer to the console (chat messages have limits)

DIGEST_HEAD = "【未签到提醒】{day} {shift} 上班的学生，截至 {at} 仍有 {n} 人未签到："
DIGEST_LINE = "{i}. {name}（{cls}）连续 {streak} 个工作日未签到，最后签到：{last}"
DIGEST_TAIL = "可回复“今日”查看全部情况；已请假或休息的同学请在控制台备注。"
MORE_LINES = "……另有 {n} 人，请在控制台查看。"
NEVER = "暂无"
PARENT_ALERT = (
    "您好，这里是{school}实习助手。{student}已连续 {streak} 个工作日没有实习签到"
    "（最近一次签到：{last}）。请先与孩子联系，确认一切平安；如需帮助，"
    "请联系指导教师{teacher}（电话 {phone}）。"
)
LOST_HEAD = (
    "【失联预警】{day}，以下 {n} 名学生已连续 {k} 个或更多工作日未签到，请尽快联系学生和家长："
)
LOST_LINE = "{i}. {name}（{cls}，指导教师 {teacher}）连续 {streak} 个工作日未签到，最后签到：{last}"
ALERT_MESSAGE = "连续 {streak} 个工作日未签到（最后签到：{last}）"


def sweep_escalations(session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """Digest absentees to teachers and escalate long silences, for every due shift window."""
    counts: dict[str, int] = defaultdict(int)
    cfg = settings.scheduler
    for window in due_windows(now, settings, after_min=cfg.digest_after_min):
        absentees = find_absentees(session, settings, window)
        if not absentees:
            continue
        teachers = _teachers(session, {a.teacher_id for a in absentees if a.teacher_id})
        messages = _teacher_digests(absentees, now, settings)
        parents = _new_alerts(session, absentees, "missing", cfg.parent_after_days, now)
        messages += _parent_alerts(session, parents, teachers, settings)
        lost = _new_alerts(session, absentees, "lost_contact", cfg.school_after_days, now)
        messages += _lost_contact(session, lost, teachers, cfg.school_after_days)
        counts["alerts"] += len(parents) + len(lost)
        counts["queued"] += enqueue_all(session, messages, now)
    return dict(counts)


def _last(a: Absentee) -> str:
    return format_day(a.last_checkin) if a.last_checkin else NEVER


def _hhmm(a: Absentee) -> str:
    return a.shift_start.strftime("%H%M")


def _teacher_digests(absentees: list[Absentee], now: datetime, settings: Settings) -> list:
    groups: dict[tuple, list[Absentee]] = defaultdict(list)
    for a in absentees:
        if a.teacher_id:
            groups[(a.teacher_id, a.day, a.shift_start)].append(a)
    messages = []
    for (teacher_id, day, shift), group in sorted(groups.items()):
        group.sort(key=lambda a: (-a.streak, a.class_name, a.name))
        head = DIGEST_HEAD.format(
            day=format_day(day),
            shift=shift.strftime("%H:%M"),
            at=local(now, settings).strftime("%H:%M"),
            n=len(group),
        )
        lines = [
            DIGEST_LINE.format(i=i, name=a.name, cls=a.class_name, streak=a.streak, last=_last(a))
            for i, a in enumerate(group[:MAX_LINES], 1)
        ]
        if len(group) > MAX_LINES:
            lines.append(MORE_LINES.format(n=len(group) - MAX_LINES))
        messages.append(
            Message(
                person_kind="teacher",
                person_id=teacher_id,
                key=f"teacher_digest:{teacher_id}:{day}:{shift.strftime('%H%M')}",
                kind="teacher_digest",
                text="\n".join([head, *lines, DIGEST_TAIL]),
                school_id=group[0].school_id,
                day=day,
                params={"student_ids": [a.student_id for a in group]},
            )
        )
    return messages


def _new_alerts(
    session: Session, absentees: list[Absentee], kind: str, after_days: int, now: datetime
) -> list[Absentee]:
    """Raise `kind` alerts for streaks reaching `after_days`, once per spell of silence."""
    due = [a for a in absentees if a.streak >= after_days]
    if not due:
        return []
    latest: dict[int, date] = {}
    for part in chunks([a.student_id for a in due]):
        latest.update(
            session.execute(
                select(Alert.student_id, func.max(Alert.day))
                .where(Alert.kind == kind, Alert.student_id.in_(part))
                .group_by(Alert.student_id)
            ).all()
        )
    # An earlier alert after the last check-in belongs to this same spell: do not raise again.
    fresh = [
        a
        for a in due
        if (prev := latest.get(a.student_id)) is None
        or prev == a.day
        or (a.last_checkin is not None and prev <= a.last_checkin)
    ]
    rows = [
        dict(
            school_id=a.school_id,
            student_id=a.student_id,
            kind=kind,
            severity="urgent" if kind == "lost_contact" else "normal",
            day=a.day,
            message=ALERT_MESSAGE.format(streak=a.streak, last=_last(a)),
            status="open",
            created_at=now,
            updated_at=now,
        )
        for a in fresh
    ]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for part in chunks(rows):
        stmt = dialect.insert(Alert.__table__).values(list(part))
        session.execute(stmt.on_conflict_do_nothing(index_elements=["kind", "student_id", "day"]))
    return fresh


def _teachers(session: Session, ids: set[int]) -> dict[int, Teacher]:
    out: dict[int, Teacher] = {}
    for part in chunks(sorted(ids)):
        out.update({t.id: t for t in session.scalars(select(Teacher).where(Teacher.id.in_(part)))})
    return out


def _parent_alerts(
    session: Session, students: list[Absentee], teachers: dict[int, Teacher], settings: Settings
) -> list[Message]:
    if not students:
        return []
    by_id = {a.student_id: a for a in students}
    school_ids = sorted({a.school_id for a in students})
    schools = dict(
        session.execute(select(School.id, School.name).where(School.id.in_(school_ids))).all()
    )
    messages = []
    for part in chunks(sorted(by_id)):
        links = session.execute(
            select(Guardianship.student_id, Guardianship.parent_id).where(
                Guardianship.student_id.in_(part)
            )
        )
        for student_id, parent_id in links:
            a = by_id[student_id]
            teacher = teachers.get(a.teacher_id)
            text = PARENT_ALERT.format(
                school=schools.get(a.school_id, ""),
                student=a.name,
                streak=a.streak,
                last=_last(a),
                teacher=teacher.name if teacher else "",
                phone=teacher.phone if teacher else "",
            )
            messages.append(
                Message(
                    person_kind="parent",
                    person_id=parent_id,
                    key=f"parent_alert:{parent_id}:{a.day}:{student_id}",
                    kind="parent_alert",
                    text=text,
                    school_id=a.school_id,
                    day=a.day,
                    quiet_hours=True,
                    # Still worth sending after quiet hours while the child is silent.
                    expires_at=day_end(a.day, settings) + timedelta(days=1),
                    params={"student_id": student_id},
                )
            )
    return messages


def _lost_contact(
    session: Session, students: list[Absentee], teachers: dict[int, Teacher], after_days: int
) -> list[Message]:
    """One list per teacher, and one per school for school admins bound in chat."""
    if not students:
        return []
    audiences: dict[tuple, list[Absentee]] = defaultdict(list)
    for a in students:
        if a.teacher_id:
            audiences[("teacher", a.teacher_id, a.school_id, a.day, _hhmm(a))].append(a)
    school_ids = {a.school_id for a in students}
    admins = session.execute(
        select(ConsoleUser.id, ConsoleUser.school_id).where(
            ConsoleUser.role == "school",
            ConsoleUser.active.is_(True),
            ConsoleUser.school_id.in_(school_ids),
        )
    ).all()
    for user_id, school_id in admins:
        for a in students:
            if a.school_id == school_id:
                audiences[("school_admin", user_id, school_id, a.day, _hhmm(a))].append(a)
    messages = []
    for (person_kind, person_id, school_id, day, hhmm), group in sorted(audiences.items()):
        group.sort(key=lambda a: (-a.streak, a.class_name, a.name))
        lines = [
            LOST_LINE.format(
                i=i,
                name=a.name,
                cls=a.class_name,
                teacher=teachers[a.teacher_id].name if a.teacher_id in teachers else "",
                streak=a.streak,
                last=_last(a),
            )
            for i, a in enumerate(group[:MAX_LINES], 1)
        ]
        if len(group) > MAX_LINES:
            lines.append(MORE_LINES.format(n=len(group) - MAX_LINES))
        head = LOST_HEAD.format(day=format_day(day), n=len(group), k=after_days)
        messages.append(
            Message(
                person_kind=person_kind,
                person_id=person_id,
                key=f"lost_contact:{person_kind}:{person_id}:{day}:{hhmm}",
                kind="lost_contact",
                text="\n".join([head, *lines]),
                school_id=school_id,
                day=day,
                params={"student_ids": [a.student_id for a in group]},
            )
        )
    return messages
