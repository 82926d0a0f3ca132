"""core.due: the due-day rule and lateness, and its SQL form agreeing with its Python form."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import bind, make_student
from sqlalchemy import literal
from sqlmodel import select

from core.due import (
    decide_day,
    due_clause,
    due_on,
    first_due_day,
    first_due_day_sql,
    late_clause,
    late_from,
    late_minutes,
    scheduled_clause,
)
from core.settings import Settings
from models import Placement
from models.attendance import DueFacts, due_facts
from models.leave import create_leave
from models.types import AwareDateTime

TZ = ZoneInfo("Asia/Shanghai")
MON = date(2026, 3, 2)


def _at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=TZ)


def _placement(**kw) -> Placement:
    values = dict(
        id=1, student_id=1, school_id=1, company_id=1, latitude=0, longitude=0, norm_lat=0,
        norm_lng=0, shift_start=time(9, 0), shift_end=time(18, 0), workdays_mask=31,
        start_date=date(2026, 2, 1), end_date=date(2026, 7, 31),
    )  # fmt: skip
    return Placement(**(values | kw))


@pytest.mark.parametrize(
    ("at", "grace", "minutes"),
    [
        ((9, 0, 0), 0, 0),
        ((9, 0, 30), 0, 0),  # half a minute past is not a minute late
        ((9, 0, 59), 0, 0),
        ((9, 1, 0), 0, 1),
        ((9, 5, 30), 5, 0),
        ((9, 6, 0), 5, 1),
        ((9, 25, 0), 0, 25),
        ((8, 50, 0), 0, 0),
    ],
)
def test_lateness_counts_whole_minutes_past_shift_start_and_grace(at, grace, minutes):
    settings = Settings(checkin={"late_after_min": grace})
    checkin = _at(MON, *at)
    assert late_minutes(checkin, time(9, 0), settings) == minutes
    assert (checkin >= late_from(MON, time(9, 0), settings)) == (minutes > 0)


def test_the_first_due_day_of_a_binding_is_decided_by_the_nudge_time():
    settings = Settings()  # nudge at shift start + 30 min
    nine = time(9, 0)
    assert first_due_day(_at(MON, 9, 30), nine, settings) == MON  # at the nudge: due
    assert first_due_day(_at(MON, 9, 31), nine, settings) == MON + timedelta(days=1)
    assert first_due_day(_at(MON, 0, 5), nine, settings) == MON
    assert first_due_day(_at(MON, 0, 5), time(23, 50), settings) == MON - timedelta(days=1)


def test_due_on_gives_the_reason_for_every_day_that_is_not_due():
    settings = Settings()
    p = _placement(start_date=date(2026, 3, 1), end_date=date(2026, 6, 30))
    facts = DueFacts(
        placements=(p,),
        bound_at=_at(MON, 12, 0),  # after Monday's nudge
        leaves=((date(2026, 3, 4), date(2026, 3, 5)),),
    )
    reasons = {d: due_on(facts, d, settings).reason for d in (MON + timedelta(i) for i in range(7))}
    assert reasons == {
        MON: "before_binding",
        date(2026, 3, 3): "ok",
        date(2026, 3, 4): "leave",
        date(2026, 3, 5): "leave",
        date(2026, 3, 6): "ok",
        date(2026, 3, 7): "rest_day",
        date(2026, 3, 8): "rest_day",
    }
    assert due_on(DueFacts(placements=(p,)), MON, settings).reason == "unbound"
    assert due_on(facts, date(2026, 5, 1), settings).reason == "holiday"
    assert due_on(facts, date(2026, 2, 27), settings).reason == "not_started"
    assert decide_day([p], date(2026, 4, 6), settings).reason == "holiday"  # 清明 (observed)


# --- the SQL form agrees with the Python form ---------------------------------------------


def _mixed_world(session):
    """Students with every case: weekdays, weekends, late binding, leave, overlapping placements."""
    shapes = [
        dict(workdays="1-5", shift_start=time(9, 0)),
        dict(workdays="1-7", shift_start=time(8, 0)),
        dict(workdays="1,3,5", shift_start=time(23, 50)),
        dict(workdays="6-7", shift_start=time(0, 10)),
        dict(workdays="1-5", shift_start=time(9, 0), start_date=date(2026, 3, 4)),
    ]
    ids = []
    for i, shape in enumerate(shapes):
        s = make_student(session, student_no=f"S{i:03d}", **shape)
        ids.append(s.id)
    bind(session, person_kind="student", person_id=ids[0], external_id="a")
    bind(session, person_kind="student", person_id=ids[1], external_id="b",
         bound_at=_at(date(2026, 3, 3), 8, 30))  # fmt: skip
    bind(session, person_kind="student", person_id=ids[2], external_id="c",
         bound_at=_at(date(2026, 3, 3), 0, 5))  # fmt: skip
    bind(session, person_kind="student", person_id=ids[4], external_id="e")
    gone = bind(session, person_kind="student", person_id=ids[3], external_id="d")
    gone.active = False  # unbound again: not due
    session.add(gone)
    create_leave(
        session, student_id=ids[0], start=date(2026, 3, 3), end=date(2026, 3, 4), reason="病假",
        today=MON, now=_at(MON, 8), max_past_days=7, approved_by="李老师",
    )  # fmt: skip
    create_leave(
        session, student_id=ids[4], start=date(2026, 3, 5), end=date(2026, 3, 5), reason="事假",
        today=MON, now=_at(MON, 8), max_past_days=7,
    )  # pending: still due  # fmt: skip
    first = session.exec(select(Placement).where(Placement.student_id == ids[1])).one()
    session.add(
        Placement(**{**first.model_dump(), "id": None, "workdays": "6", "workdays_mask": 32,
                     "start_date": date(2026, 3, 6), "end_date": date(2026, 3, 7)})
    )  # fmt: skip
    session.commit()
    return ids


def test_due_clause_agrees_with_due_on_every_day_of_a_mixed_fortnight(session, settings):
    ids = _mixed_world(session)
    dialect = session.get_bind().dialect.name
    first, last = date(2026, 2, 27), date(2026, 3, 10)
    facts = due_facts(session, student_ids=ids, first=first, last=last)
    day = first
    while day <= last:
        python = {sid for sid in ids if due_on(facts[sid], day, settings).ok}
        sql = set(
            session.exec(
                select(Placement.student_id).where(due_clause(day, settings, dialect))
            ).all()
        )
        assert sql == python, day
        working = {sid for sid in ids if decide_day(facts[sid].placements, day, settings).ok}
        scheduled = session.exec(
            select(Placement.student_id).where(scheduled_clause(day, settings, dialect))
        ).all()
        assert sorted(scheduled) == sorted(working), day
        day += timedelta(days=1)


@pytest.mark.parametrize("shift", [time(9, 0), time(23, 50), time(0, 10)])
def test_first_due_day_sql_agrees_with_python_around_midnight_and_the_nudge(
    session, settings, shift
):
    student = make_student(session, shift_start=shift)
    session.commit()
    base = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    for minutes in range(0, 24 * 60, 7):
        bound = base + timedelta(minutes=minutes)
        sql = session.exec(
            select(first_due_day_sql(literal(bound, AwareDateTime()), settings, MON)).where(
                Placement.student_id == student.id
            )
        ).one()
        assert sql == first_due_day(bound, shift, settings), bound


def test_late_clause_agrees_with_late_minutes_to_the_second(session):
    settings = Settings(checkin={"late_after_min": 5})
    make_student(session, shift_start=time(9, 0))
    session.commit()
    for seconds in range(5 * 60 - 2, 6 * 60 + 3):
        at = _at(MON, 9) + timedelta(seconds=seconds)
        sql = session.exec(
            select(late_clause(literal(at, AwareDateTime()), MON, settings)).select_from(Placement)
        ).one()
        assert bool(sql) == (late_minutes(at, time(9, 0), settings) > 0), at
