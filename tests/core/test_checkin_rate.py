"""签到率 counts exactly the days core.due calls due, however the students' cases are mixed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from factories import add_checkin, bind, make_student
from sqlmodel import Session, select

from core.checkin_rate import checkin_rate
from core.due import due_on
from core.rates import CHECKIN_WINDOW_DAYS
from models import CheckIn, ConsoleUser, DashboardSnapshot, Leave, Placement, Student
from models.attendance import due_facts
from models.leave import create_leave

# 30 days before 2026-03-02 span the Spring Festival holidays and the 2026-02-28 make-up day.
TODAY = date(2026, 3, 2)
FIRST, LAST = TODAY - timedelta(days=CHECKIN_WINDOW_DAYS), TODAY - timedelta(days=1)
SHAPES = [
    ("1-5", date(2026, 1, 1), date(2026, 7, 31)),
    ("1-6", date(2026, 2, 10), date(2026, 2, 25)),
    ("1-7", date(2026, 2, 20), date(2026, 6, 30)),
    ("1,3,5", date(2025, 12, 1), date(2026, 2, 14)),
    ("1-5", date(2026, 3, 1), date(2026, 4, 30)),  # starts after the window
]


def _brute_force(session, settings, students) -> tuple[int, int]:
    """(due days with a check-in, due days), one student and one day at a time."""
    facts = due_facts(session, student_ids=students, first=FIRST, last=LAST)
    checked = set(session.exec(select(CheckIn.student_id, CheckIn.day)).all())
    num = den = 0
    for sid in students:
        day = FIRST
        while day <= LAST:
            if due_on(facts[sid], day, settings).ok:
                den += 1
                num += (sid, day) in checked
            day += timedelta(days=1)
    return num, den


def _world(session, settings) -> list[int]:
    ids = []
    for i, (workdays, start, end) in enumerate(SHAPES):
        s = make_student(
            session, student_no=f"S{i}", workdays=workdays, start_date=start, end_date=end
        )
        bind(session, person_kind="student", person_id=s.id, external_id=f"s{i}")
        ids.append(s.id)
    # Bound in the middle of the window, after the nudge of 2026-02-11 (09:30 + a minute).
    late = make_student(session, student_no="S10", start_date=date(2026, 1, 5))
    bind(
        session, person_kind="student", person_id=late.id, external_id="late",
        bound_at=datetime(2026, 2, 11, 1, 31, tzinfo=UTC),
    )  # fmt: skip
    # Bound once, unbound since: not due at all, though its old check-ins remain.
    gone = make_student(session, student_no="S11", start_date=date(2026, 1, 5))
    bind(session, person_kind="student", person_id=gone.id, external_id="gone").active = False
    # Never bound: not due, and no check-ins (a check-in needs a chat account).
    never = make_student(session, student_no="S14", start_date=date(2026, 1, 5))
    ids += [late.id, gone.id]
    # On approved leave for three days, one of them a make-up Saturday.
    ill = make_student(session, student_no="S12", start_date=date(2026, 1, 5))
    bind(session, person_kind="student", person_id=ill.id, external_id="ill")
    create_leave(
        session, student_id=ill.id, start=date(2026, 2, 26), end=date(2026, 2, 28), reason="病假",
        today=TODAY, now=datetime(2026, 2, 25, tzinfo=UTC), max_past_days=7, approved_by="李老师",
    )  # fmt: skip
    # Two placements: the newer one (weekends only) counts while both run.
    moved = make_student(session, student_no="S13", start_date=date(2026, 1, 5))
    bind(session, person_kind="student", person_id=moved.id, external_id="moved")
    first = session.exec(select(Placement).where(Placement.student_id == moved.id)).one()
    weekends = dict(workdays="6-7", workdays_mask=96)
    dates = dict(start_date=date(2026, 2, 16), end_date=date(2026, 2, 22))
    second = Placement(**{**first.model_dump(), "id": None, **weekends, **dates})
    session.add(second)
    ids += [ill.id, moved.id]
    session.flush()
    everyone = [*ids, never.id]
    # Check-ins on many days, due or not (holidays, rest days, leave, before binding).
    for n, sid in enumerate(ids):
        day = FIRST
        while day <= LAST:
            if (day.toordinal() + n) % 3:
                add_checkin(session, sid, day)
            day += timedelta(days=1)
    session.commit()
    return everyone


def test_the_rate_counts_what_the_due_rule_decides_for_every_scope(session, settings):
    ids = _world(session, settings)
    expected = _brute_force(session, settings, ids)
    assert expected[1] > expected[0] > 0
    province = ConsoleUser(username="p", role="province", password_hash="x")
    school = ConsoleUser(username="s", role="school", school_id=1, password_hash="x")
    teacher_id = session.exec(select(Student.teacher_id)).first()
    teacher = ConsoleUser(
        username="t", role="teacher", school_id=1, teacher_id=teacher_id, password_hash="x"
    )
    for user in (province, school, teacher):
        rate = checkin_rate(session, user, today=TODAY, settings=settings)
        assert (rate["num"], rate["den"]) == expected, user.role
    assert session.exec(select(Leave)).one().status == "approved"


def test_the_rate_is_counted_once_a_day_per_snapshot_and_again_the_next_day(
    session, settings, engine
):
    from scheduler.dashboards import refresh_dashboards
    from tests.scheduler.sched_helpers import at

    student = make_student(session, student_no="S1", start_date=date(2026, 2, 2))
    bind(session, person_kind="student", person_id=student.id, external_id="s1")
    add_checkin(session, student.id, date(2026, 2, 27))
    session.commit()

    def stored_rate(now):
        with Session(engine) as s:
            refresh_dashboards(s, settings, now)
            s.commit()
            return s.get(DashboardSnapshot, "province").figures["rates"]["checkin"]["num"]

    assert stored_rate(at(TODAY, 9)) == 1
    add_checkin(session, student.id, date(2026, 2, 26))  # a late record of a past day
    session.commit()
    assert stored_rate(at(TODAY, 10)) == 1  # the day's figure stands
    assert stored_rate(at(TODAY + timedelta(days=1), 9)) == 2


def test_each_group_and_day_counts_what_the_due_rule_decides(session, settings):
    """Per school, city, class and teacher, and per day: the counted pairs are the rule's."""
    from core.checkin_rate import checkin_counts

    ids = _world(session, settings)
    students = {s.id: s for s in session.exec(select(Student)).all()}
    facts = due_facts(session, student_ids=ids, first=FIRST, last=LAST)
    checked = set(session.exec(select(CheckIn.student_id, CheckIn.day)).all())
    province = ConsoleUser(username="p", role="province", password_hash="x")
    teacher_id = session.exec(select(Student.teacher_id)).first()
    teacher = ConsoleUser(
        username="t", role="teacher", school_id=1, teacher_id=teacher_id, password_hash="x"
    )
    for group in (None, "school", "city", "class", "teacher"):
        expected: dict = {}
        for sid in ids:
            day = FIRST
            while day <= LAST:
                decision = due_on(facts[sid], day, settings)
                if decision.ok:
                    if group in ("school", "city"):
                        key = getattr(
                            decision.placement, f"{group}_id" if group == "school" else group
                        )
                    else:
                        key = getattr(students[sid], f"{group}_id") if group else None
                    pair = expected.setdefault((key, day), [0, 0])
                    pair[0] += (sid, day) in checked
                    pair[1] += 1
                day += timedelta(days=1)
        for user in (province, teacher):
            counts = checkin_counts(
                session, user, first=FIRST, last=LAST, settings=settings, group=group
            )
            got = {k: v for k, v in counts.items() if v != [0, 0]}
            assert got == expected, (group, user.role)
