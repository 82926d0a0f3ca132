"""At shift start + 2 h: teacher digests, parent alerts (2nd missed day), 失联 alerts (3rd).

Set-based: the window's absentees are materialised once (scheduler.absences), then each alert
kind and each message kind is one INSERT ... SELECT, its text built in SQL (digests aggregate
their lines per teacher), so a province of 240,000 absentees takes seconds, not a Python loop.
Only students due on the day (core.due) are absentees: those on approved leave are left out,
and those with no chat account are listed apart in the digest (未绑定) and never escalated.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import Date, String, case, cast, exists, func, literal, or_, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from core.notices import format_day
from core.settings import Settings
from models import Alert, ChannelAccount, ConsoleUser, Guardianship, School, Teacher
from models.db import key_checks_planned_once
from models.types import AwareDateTime
from scheduler.absences import (
    ABSENTEES,
    UNBOUND,
    analyze_temp,
    drop_temp_tables,
    last_label,
    materialize_absentees,
    with_label,
)
from scheduler.days import day_end, due_windows, local
from scheduler.outbox_sql import (
    insert_select,
    joined,
    json_expr,
    json_object,
    key_expr,
    row_columns,
    sql_format,
    text_order,
)

MAX_LINES = 30  # longer lists end with a pointer to the console (chat messages have limits)

DIGEST_HEAD = "【未签到提醒】{day} {shift} 上班的学生，截至 {at} 仍有 {n} 人未签到："
DIGEST_ALL_IN = "【签到情况】{day} {shift} 上班、已绑定的学生截至 {at} 都已签到。"
DIGEST_LINE = "{i}. {name}{in_class}连续 {streak} 个工作日未签到，最后签到：{last}{alert}"
DIGEST_UNBOUND = "未绑定 {n} 人：{names}（还没有绑定，不计缺勤；请提醒他们用邀请码绑定）"
UNBOUND_MORE = "等"
DIGEST_TAIL = (
    "可回复“今日”查看全部情况，回复“请假”查看待批的请假；"
    "带预警编号的，回复“处理 A编号 说明”记录处理情况。"
)
ALERT_MARK = "（预警 A{no}）"  # the number 处理 takes (handlers.casework)
MORE_LINES = "……另有 {n} 人，请在控制台查看。"
PARENT_ALERT = (
    "您好，这里是{school}实习助手。{student}已连续 {streak} 个工作日没有实习签到"
    "（最近一次签到：{last}）。请先与孩子联系，确认一切平安；如需帮助，"
    "请联系指导教师{teacher}{phone}。"
)
PHONE = "（电话 {phone}）"
LOST_HEAD = (
    "【失联预警】{day}，以下 {n} 名学生已连续 {k} 个或更多工作日未签到，请尽快联系学生和家长："
)
LOST_LINE = (
    "{i}. {name}（{cls}，指导教师 {teacher}）连续 {streak} 个工作日未签到，最后签到：{last}{alert}"
)
LOST_TAIL = "回复“处理 A编号 说明”记录处理情况。"
ALERT_MESSAGE = "连续 {streak} 个工作日未签到（最后签到：{last}）"
PARENT_SUMMARY = "连续{streak}个工作日未签到"  # a template field: at most 20 characters
PARAMS_STUDENTS = '{"student_ids": [{ids}]}'

A = ABSENTEES.c


def sweep_escalations(session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """Digest absentees to teachers and escalate long silences, for every due shift window."""
    counts: dict[str, int] = defaultdict(int)
    cfg = settings.scheduler
    for window in due_windows(now, settings, after_min=cfg.digest_after_min):
        if not any(materialize_absentees(session, settings, window)):
            continue
        day = window.day
        _mark_fresh(session, cfg.parent_after_days, cfg.school_after_days, day)
        missing, lost = A.fresh_missing.is_(True), A.fresh_lost.is_(True)
        counts["alerts"] += _raise_alerts(session, "missing", missing, day, now)
        counts["alerts"] += _raise_alerts(session, "lost_contact", lost, day, now)
        counts["queued"] += _parent_alerts(session, settings, missing, day, now)
        unbound = set(session.scalars(select(UNBOUND.c.shift_start).distinct()).all())
        shifts = sorted(set(session.scalars(select(A.shift_start).distinct()).all()) | unbound)
        for shift in shifts:
            counts["queued"] += _teacher_digests(
                session, settings, day, shift, now, with_unbound=shift in unbound
            )
            counts["queued"] += _lost_contact(session, lost, day, shift, cfg.school_after_days, now)
    drop_temp_tables(session)
    return dict(counts)


def _mark_fresh(session: Session, parent_after: int, school_after: int, day: date) -> None:
    """Flag streaks reaching each threshold with no such alert yet in this spell of silence.

    Decided once, before today's alerts are raised: every later statement reads the flags
    instead of probing the alerts table, whose planner statistics go stale as the sweep fills it.
    """

    def earlier(kind: str):
        # An alert after the last check-in (other than today's) belongs to this same spell.
        return exists().where(
            Alert.kind == kind,
            Alert.student_id == A.student_id,
            Alert.day != day,
            or_(A.last_day.is_(None), Alert.day > A.last_day),
        )

    session.execute(
        update(ABSENTEES)
        .where(A.streak >= min(parent_after, school_after))
        .values(
            fresh_missing=(A.streak >= parent_after) & ~earlier("missing"),
            fresh_lost=(A.streak >= school_after) & ~earlier("lost_contact"),
        )
    )
    analyze_temp(session, ABSENTEES)  # the statements that follow filter on these flags


def _raise_alerts(session: Session, kind: str, fresh, day: date, now: datetime) -> int:
    """One alert per fresh student (kind, student, day is unique); returns alerts raised."""
    rows = (
        select(
            A.school_id,
            A.student_id,
            literal(kind, String),
            literal("urgent" if kind == "lost_contact" else "normal", String),
            literal(day, Date),
            sql_format(ALERT_MESSAGE, streak=A.streak, last=last_label()),
            literal("open", String),
            literal(now, AwareDateTime()),
            literal(now, AwareDateTime()),
        )
        .select_from(with_label(ABSENTEES))
        .where(fresh)
    )
    columns = ["school_id", "student_id", "kind", "severity", "day", "message", "status"]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(Alert.__table__)
        .from_select([*columns, "created_at", "updated_at"], rows)
        .on_conflict_do_nothing(index_elements=["kind", "student_id", "day"])
    )
    with key_checks_planned_once(session):  # school and student keys per alert
        result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    return max(result.rowcount or 0, 0)


def _accounts(person_kind: str, person_id):
    return (
        (ChannelAccount.person_kind == person_kind)
        & (ChannelAccount.person_id == person_id)
        & ChannelAccount.active.is_(True)
    )


def _parent_alerts(session: Session, settings: Settings, fresh, day: date, now: datetime) -> int:
    parent = Guardianship.parent_id
    columns = row_columns(
        session,
        key=key_expr("parent_alert", parent, day.isoformat(), A.student_id),
        school_id=A.school_id,
        kind="parent_alert",
        person_kind="parent",
        person_id=parent,
        day=day,
        quiet_hours=True,
        now=now,
        # Still worth sending after quiet hours while the child is silent.
        expires_at=day_end(day, settings) + timedelta(days=1),
        text=sql_format(
            PARENT_ALERT,
            school=School.name,
            student=A.name,
            streak=A.streak,
            last=last_label(),
            teacher=Teacher.name,
            phone=case(
                (func.coalesce(Teacher.phone, "") != "", sql_format(PHONE, phone=Teacher.phone)),
                else_="",
            ),
        ),
        # The fields of a template message (SPEC section 9), beside the id still_relevant reads.
        params=json_object(
            session,
            student_id=A.student_id,
            student=A.name,
            date=literal(day.isoformat(), String),
            summary=sql_format(PARENT_SUMMARY, streak=A.streak),
            teacher=func.coalesce(Teacher.name, ""),
            phone=func.coalesce(Teacher.phone, ""),
        ),
    )
    joins = (
        ABSENTEES.join(Guardianship, Guardianship.student_id == A.student_id)
        .join(ChannelAccount, _accounts("parent", parent))
        .join(School, School.id == A.school_id)
        .outerjoin(Teacher, Teacher.id == A.teacher_id)
    )
    return insert_select(session, select(*columns).select_from(with_label(joins)).where(fresh))


def _listed(session: Session, audience, line_template: str, head: str):
    """Per person in `audience` (a subquery of its students): the numbered list as SQL text.

    Returns a subquery with person_id, school_id, text (head + lines + "more") and ids.
    """
    au = audience.c
    order = (au.streak.desc(), text_order(session, au.class_name), text_order(session, au.name))
    rank = func.row_number().over(partition_by=au.person_id, order_by=(*order, au.student_id))
    ranked = (
        select(au, rank.label("rn"), func.count().over(partition_by=au.person_id).label("n"))
        .order_by(au.person_id, "rn")  # the order SQLite's group_concat keeps
        .subquery("ranked")
    )
    r = ranked.c
    line = case((r.rn <= MAX_LINES, sql_format(line_template, i=r.rn, **_line_fields(r))))
    grouped = (
        select(
            r.person_id,
            func.min(r.school_id).label("school_id"),
            func.max(r.n).label("n"),
            joined(session, line, r.rn).label("lines"),
            joined(session, cast(r.student_id, String), r.rn, ",").label("ids"),
        )
        .group_by(r.person_id)
        .subquery("grouped")
    )
    g = grouped.c
    more = case((g.n > MAX_LINES, sql_format("\n" + MORE_LINES, n=g.n - MAX_LINES)), else_="")
    text = sql_format(head, n=g.n) + literal("\n") + g.lines + more
    return grouped, text


def _line_fields(r) -> dict:
    # "（汽修2301）", or nothing when the student has no class (never an empty "（）").
    in_class = case((r.class_name != "", sql_format("（{cls}）", cls=r.class_name)), else_="")
    alert = case((r.alert.is_not(None), sql_format(ALERT_MARK, no=r.alert)), else_="")
    fields = dict(
        name=r.name, cls=r.class_name, in_class=in_class, streak=r.streak, last=r.last, alert=alert
    )
    if "teacher" in r:
        fields["teacher"] = r.teacher
    return fields


def _student_columns(day: date):
    """A listed student's fields, with today's alert about them (its number is what 处理
    takes): one unique-index lookup per absentee."""
    alert = (
        select(func.max(Alert.id))
        .where(
            Alert.student_id == A.student_id,
            Alert.day == day,
            Alert.kind.in_(("missing", "lost_contact")),
        )
        .scalar_subquery()
    )
    return (
        A.student_id, A.name, A.class_name, A.streak, last_label().label("last"),
        alert.label("alert"),
    )  # fmt: skip


def _teacher_digests(
    session: Session, settings: Settings, day: date, shift: time, now: datetime, *,
    with_unbound: bool,
) -> int:  # fmt: skip
    """One digest per teacher of the shift: who is missing, and apart from them who is unbound."""
    audience = (
        select(A.teacher_id.label("person_id"), A.school_id, *_student_columns(day))
        .select_from(with_label(ABSENTEES))
        .where(A.shift_start == shift, A.teacher_id.is_not(None))
        .subquery("audience")
    )
    values = dict(
        day=format_day(day),
        shift=shift.strftime("%H:%M"),
        at=local(now, settings).strftime("%H:%M"),
        n="{n}",
    )
    missing, missing_text = _listed(session, audience, DIGEST_LINE, DIGEST_HEAD.format(**values))
    suffix = f"{day}:{shift.strftime('%H%M')}"
    if not with_unbound:  # the common case: the missing students' list alone
        text = missing_text + literal("\n" + DIGEST_TAIL)
        return _queue_lists(session, missing, text, "teacher", "teacher_digest", suffix, day, now)
    unbound, unbound_text = _unbound_names(session, shift)
    m, u = missing.c, unbound.c
    people = union(select(m.person_id, m.school_id), select(u.person_id, u.school_id)).subquery()
    p = people.c
    text = (
        case((m.person_id.is_not(None), missing_text), else_=DIGEST_ALL_IN.format(**values))
        + case((u.person_id.is_not(None), literal("\n") + unbound_text), else_="")
        + literal("\n" + DIGEST_TAIL)
    )
    grouped = (
        select(
            p.person_id,
            func.min(p.school_id).label("school_id"),
            func.max(text).label("text"),
            func.max(func.coalesce(m.ids, "")).label("ids"),
        )
        .select_from(
            people.outerjoin(missing, m.person_id == p.person_id).outerjoin(
                unbound, u.person_id == p.person_id
            )
        )
        .group_by(p.person_id)
        .subquery("digests")
    )
    return _queue_lists(
        session, grouped, grouped.c.text, "teacher", "teacher_digest", suffix, day, now
    )


def _unbound_names(session: Session, shift: time):
    """Per teacher: the unbound students of the shift as "未绑定 N 人：name、name…" (SQL)."""
    ub = UNBOUND.c
    order = (text_order(session, ub.class_name), text_order(session, ub.name), ub.student_id)
    ranked = (
        select(
            ub.teacher_id.label("person_id"),
            ub.school_id,
            ub.name,
            func.row_number().over(partition_by=ub.teacher_id, order_by=order).label("rn"),
            func.count().over(partition_by=ub.teacher_id).label("n"),
        )
        .where(ub.shift_start == shift, ub.teacher_id.is_not(None))
        .order_by(ub.teacher_id, "rn")  # the order SQLite's group_concat keeps
        .subquery("unbound_ranked")
    )
    r = ranked.c
    grouped = (
        select(
            r.person_id,
            func.min(r.school_id).label("school_id"),
            func.max(r.n).label("n"),
            joined(session, case((r.rn <= MAX_LINES, r.name)), r.rn, "、").label("names"),
        )
        .group_by(r.person_id)
        .subquery("unbound")
    )
    g = grouped.c
    names = g.names + case((g.n > MAX_LINES, literal(UNBOUND_MORE)), else_="")
    return grouped, sql_format(DIGEST_UNBOUND, n=g.n, names=names)


def _lost_contact(
    session: Session, fresh, day: date, shift: time, after_days: int, now: datetime
) -> int:
    """One list per teacher, and one per school for school admins bound in chat."""
    head = LOST_HEAD.format(day=format_day(day), n="{n}", k=after_days)
    suffix = f"{day}:{shift.strftime('%H%M')}"
    students = (*_student_columns(day), Teacher.name.label("teacher"))
    with_teacher = ABSENTEES.outerjoin(Teacher, Teacher.id == A.teacher_id)
    where = (A.shift_start == shift) & fresh
    teachers = (
        select(A.teacher_id.label("person_id"), A.school_id, *students)
        .select_from(with_label(with_teacher))
        .where(where, A.teacher_id.is_not(None))
        .subquery("audience")
    )
    admins = (
        select(ConsoleUser.id.label("person_id"), A.school_id, *students)
        .select_from(
            with_label(
                with_teacher.join(
                    ConsoleUser,
                    (ConsoleUser.school_id == A.school_id)
                    & (ConsoleUser.role == "school")
                    & ConsoleUser.active.is_(True),
                )
            )
        )
        .where(where)
        .subquery("audience")
    )
    queued = 0
    for person_kind, audience in (("teacher", teachers), ("school_admin", admins)):
        grouped, text = _listed(session, audience, LOST_LINE, head)
        text = text + literal("\n" + LOST_TAIL)
        queued += _queue_lists(
            session, grouped, text, person_kind, "lost_contact", suffix, day, now,
            prefix=f"lost_contact:{person_kind}",
        )  # fmt: skip
    return queued


def _queue_lists(
    session: Session, grouped, text, person_kind: str, kind: str, suffix: str, day: date,
    now: datetime, *, prefix: str | None = None,
) -> int:  # fmt: skip
    """One outbox row per bound chat account of each listed person."""
    g = grouped.c
    columns = row_columns(
        session,
        key=key_expr(prefix or kind, g.person_id, suffix),
        school_id=g.school_id,
        kind=kind,
        person_kind=person_kind,
        person_id=g.person_id,
        day=day,
        quiet_hours=False,
        now=now,
        expires_at=None,
        text=text,
        params=json_expr(session, sql_format(PARAMS_STUDENTS, ids=g.ids)),
    )
    stmt = select(*columns).select_from(
        grouped.join(ChannelAccount, _accounts(person_kind, g.person_id))
    )
    return insert_select(session, stmt)
