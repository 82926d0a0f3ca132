"""People the webhook bench and the crash test talk as: students, teachers, invite codes.

Bulk-loaded (bench.load), on a 1-7 placement around the real date with a 00:00-23:59 shift
(the server uses the real clock), standing at bench.callbacks.SITE. Works on a seeded
province and on an empty migrated database (a school, company and teacher are made then).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bench.callbacks import SITE
from bench.load import copy_rows, fix_sequences
from core.invites import ALPHABET, CODE_LENGTH
from models import ChannelAccount, Company, InviteCode, Placement, School, Student, Teacher
from models.db import make_engine, refresh_statistics

STUDENT_OPENID = "oBenchHook{:014d}"  # a bench student's WeChat openid, by student id
TEACHER_OPENID = "oBenchTchr{:014d}"
NEWCOMER_OPENID = "oBenchBind{:014d}"  # an unbound follower about to bind, by student id
INVITE_TTL = timedelta(days=7)


@dataclass(frozen=True)
class World:
    school_id: int
    company_id: int
    teacher_id: int


def _next_id(conn, model) -> int:
    return (conn.execute(select(func.max(model.id))).scalar() or 0) + 1


def world(url: str) -> World:
    """The first school, company and teacher; made when the database has none."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            school = conn.execute(select(func.min(School.id))).scalar()
            company = conn.execute(select(func.min(Company.id))).scalar()
            teacher = None
            if school is not None:
                teacher = conn.execute(
                    select(func.min(Teacher.id)).where(Teacher.school_id == school)
                ).scalar()
        now = datetime.now(UTC)
        if school is None:
            school = 1
            copy_rows(engine, School.__table__, ["id", "name", "city", "created_at"],
                      [(school, "贵阳压测职业技术学院", "贵阳市", now)])  # fmt: skip
        if company is None:
            company = 1
            copy_rows(engine, Company.__table__, ["id", "name", "industry", "city"],
                      [(company, "贵阳压测制造有限公司", "制造", "贵阳市")])  # fmt: skip
        if teacher is None:
            teacher = add_teachers_rows(engine, World(school, company, 0), 1)[0]
        fix_sequences(engine, [School.__table__, Company.__table__])
        return World(school, company, teacher)
    finally:
        engine.dispose()


def add_teachers_rows(engine: Engine, w: World, n: int) -> list[int]:
    with engine.connect() as conn:
        first = _next_id(conn, Teacher)
    ids = list(range(first, first + n))
    now = datetime.now(UTC)
    copy_rows(
        engine,
        Teacher.__table__,
        ["id", "school_id", "name", "phone", "created_at"],
        ((i, w.school_id, "压测老师", f"19{i:09d}", now) for i in ids),
    )
    _loaded(engine, [Teacher.__table__])
    return ids


def add_students(
    url: str, n: int, *, bound: bool = True, teacher_ids: list[int] | None = None
) -> list[int]:
    """n students on placements; bound to STUDENT_OPENID when `bound`. One teacher each:
    teacher_ids[i] for student i (cycled), else the world's teacher."""
    w = world(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            first = _next_id(conn, Student)
            first_pl = _next_id(conn, Placement)
            first_acc = _next_id(conn, ChannelAccount)
        now = datetime.now(UTC)
        ids = list(range(first, first + n))
        teachers = teacher_ids or [w.teacher_id]
        copy_rows(
            engine,
            Student.__table__,
            ["id", "student_no", "name", "gender", "school_id", "teacher_id", "phone",
             "created_at"],
            ((i, f"HOOK{i:010d}", "压测学生", "女", w.school_id, teachers[k % len(teachers)],
              "", now) for k, i in enumerate(ids)),
        )  # fmt: skip
        today = date.today()
        copy_rows(
            engine,
            Placement.__table__,
            ["id", "student_id", "school_id", "company_id", "industry", "position", "address",
             "city", "latitude", "longitude", "coord_system", "norm_lat", "norm_lng", "radius_m",
             "shift_start", "shift_end", "workdays", "workdays_mask", "start_date", "end_date",
             "arranged_by_school", "agreement_signed", "insured", "created_at", "updated_at"],
            ((first_pl + k, i, w.school_id, w.company_id, "制造", "产线技术员", "贵阳市观山湖区",
              "贵阳市", *SITE, "gcj02", *SITE, 500, dtime(0, 0), dtime(23, 59), "1-7", 127,
              today - timedelta(days=30), today + timedelta(days=30), True, True, True, now, now)
             for k, i in enumerate(ids)),
        )  # fmt: skip
        tables = [Student.__table__, Placement.__table__]
        if bound:
            _accounts(engine, first_acc, "student", ids, STUDENT_OPENID, w.school_id)
            tables.append(ChannelAccount.__table__)
        _loaded(engine, tables)
        return ids
    finally:
        engine.dispose()


def add_teachers(url: str, n: int, *, students_each: int) -> list[int]:
    """n teachers bound to TEACHER_OPENID, each with `students_each` (unbound) students."""
    w = world(url)
    engine = make_engine(url)
    try:
        ids = add_teachers_rows(engine, w, n)
        with engine.connect() as conn:
            first_acc = _next_id(conn, ChannelAccount)
        _accounts(engine, first_acc, "teacher", ids, TEACHER_OPENID, w.school_id)
        _loaded(engine, [ChannelAccount.__table__])
    finally:
        engine.dispose()
    if students_each:
        add_students(url, n * students_each, bound=False, teacher_ids=ids)
    return ids


def _loaded(engine: Engine, tables: list) -> None:
    """After a bulk load: the sequences past its ids, and the planner's statistics current, as
    a roster import leaves them (models.db.refresh_statistics)."""
    fix_sequences(engine, tables)
    with engine.connect() as conn:
        refresh_statistics(conn, tables)
        conn.commit()


def _accounts(engine: Engine, first: int, kind: str, ids: list[int], fmt: str, school_id: int):
    now = datetime.now(UTC)
    copy_rows(
        engine,
        ChannelAccount.__table__,
        ["id", "channel", "external_id", "person_kind", "person_id", "school_id", "language",
         "display_name", "active", "bound_at"],
        ((first + k, "wechat", fmt.format(i), kind, i, school_id, "zh", "", True, now)
         for k, i in enumerate(ids)),
    )  # fmt: skip


def holiday_today() -> str | None:
    """The public holiday the server's today falls in (None on other days): on such a day a
    location is answered but no check-in is recorded, so the bench checks the reply instead."""
    from core.calendar import holiday_name
    from core.settings import Settings

    settings = Settings()
    return holiday_name(datetime.now(settings.tz).date(), settings)


def code_for(n: int) -> str:
    """The n-th invite code: n in base len(ALPHABET), CODE_LENGTH digits (unique per n)."""
    digits = []
    for _ in range(CODE_LENGTH):
        n, d = divmod(n, len(ALPHABET))
        digits.append(ALPHABET[d])
    return "".join(reversed(digits))


def add_invites(url: str, student_ids: list[int]) -> list[str]:
    """A fresh, unused invite code for each student (their first code in the bench)."""
    w = world(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            first = _next_id(conn, InviteCode)
        now = datetime.now(UTC)
        # Offset so that codes do not look like a counter from AAAAAAA2 upwards.
        codes = [code_for(first + k + 7_777_777) for k in range(len(student_ids))]
        copy_rows(
            engine,
            InviteCode.__table__,
            ["id", "code", "person_kind", "person_id", "school_id", "created_at", "expires_at"],
            ((first + k, code, "student", sid, w.school_id, now, now + INVITE_TTL)
             for k, (code, sid) in enumerate(zip(codes, student_ids, strict=True))),
        )  # fmt: skip
        _loaded(engine, [InviteCode.__table__])
        return codes
    finally:
        engine.dispose()
