"""签到率 per group and per day: the overall count, split; prefectures; rankings by rate."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from factories import bind, make_student
from sqlmodel import select

from core.due import due_on, is_workday
from core.map_figures import prefectures, ranked, rate_window
from core.rate_groups import daily_rates, due_counts, rates_by
from core.regions import prefecture_of
from models import CheckIn, ConsoleUser, Placement, SchoolClass, Student
from models.attendance import due_facts
from models.leave import create_leave
from models.stats import bump_school_day

TODAY = date(2026, 3, 2)  # the 30 days before span the Spring Festival and a 调休 Saturday
PROVINCE = ConsoleUser(username="p", role="province", password_hash="x")


def _world(session):
    shapes = [
        ("S0", "汽修2301", "1-5", "贵阳市"),
        ("S1", "汽修2301", "1-7", "凯里市"),
        ("S2", "汽修2302", "1-6", "广州市"),
        ("S3", "汽修2302", "1,3,5", "遵义市"),
    ]
    students = []
    for no, klass, workdays, city in shapes:
        s = make_student(
            session,
            student_no=no,
            class_name=klass,
            workdays=workdays,
            start_date=date(2026, 1, 20),
            teacher_phone="1380000000" + no[-1],
        )
        bind(session, person_kind="student", person_id=s.id, external_id=f"s-{no}")
        p = session.exec(select(Placement).where(Placement.student_id == s.id)).one()
        p.city = city
        session.add(p)
        students.append((s, p))
    session.flush()
    return students


def _check_in(session, student, placement, day):
    at = datetime.combine(day, time(9, 0)).astimezone()
    session.add(
        CheckIn(
            school_id=student.school_id,
            student_id=student.id,
            placement_id=placement.id,
            day=day,
            at=at,
            kind="start",
            raw_lat=26.5,
            raw_lng=106.7,
            datum="gcj02",
            norm_lat=26.5,
            norm_lng=106.7,
            distance_m=10,
            within_fence=True,
        )
    )
    bump_school_day(
        session, school_id=student.school_id, day=day, checkins=1, students_checked_in=1
    )


def test_due_per_group_adds_up_to_the_overall_count_and_to_the_due_rule(session, settings):
    students = _world(session)
    ill, _ = students[2]  # on approved leave for two days: not due on them
    create_leave(
        session, student_id=ill.id, start=date(2026, 2, 24), end=date(2026, 2, 25),
        reason="病假", today=TODAY, now=datetime(2026, 2, 23, tzinfo=UTC), max_past_days=7,
        approved_by="李老师",
    )  # fmt: skip
    make_student(session, student_no="S9", start_date=date(2026, 1, 20))  # never bound
    session.commit()
    days = rate_window(TODAY)
    overall = due_counts(session, PROVINCE, days, settings)
    ids = session.exec(select(Student.id)).all()
    facts = due_facts(session, student_ids=ids, first=days[0], last=days[-1])
    for d in days:
        brute = sum(1 for f in facts.values() if due_on(f, d, settings).ok)
        assert overall.get((None, d), 0) == brute, d
    assert sum(overall.values()) > 0
    for group in ("school", "class", "teacher", "city"):
        split = due_counts(session, PROVINCE, days, settings, group=group)
        assert sum(split.values()) == sum(overall.values()), group
    by_city = rates_by(session, PROVINCE, days, settings, group="city")
    seven_day = students[1][1]
    assert by_city["凯里市"]["den"] == sum(
        1 for d in days if d >= seven_day.start_date and is_workday(d, 0b1111111, settings)
    )
    broad = session.exec(select(Placement).where(Placement.student_id == ill.id)).one()
    assert by_city["广州市"]["den"] == sum(
        1
        for d in days
        if d >= broad.start_date
        and is_workday(d, broad.workdays_mask, settings)
        and d not in (date(2026, 2, 24), date(2026, 2, 25))
    )


def test_check_ins_count_for_their_class_city_and_day(session, settings):
    students = _world(session)
    (s0, p0), (s1, p1), _, _ = students
    for day in (date(2026, 2, 24), date(2026, 2, 25)):
        _check_in(session, s0, p0, day)
    _check_in(session, s1, p1, date(2026, 2, 25))
    session.commit()
    days = rate_window(TODAY)
    by_class = rates_by(session, PROVINCE, days, settings, group="class")
    class_1 = session.exec(select(SchoolClass).where(SchoolClass.name == "汽修2301")).one()
    assert by_class[class_1.id]["num"] == 3
    by_city = rates_by(session, PROVINCE, days, settings, group="city")
    assert by_city["贵阳市"]["num"] == 2 and by_city["凯里市"]["num"] == 1
    assert rates_by(session, PROVINCE, days, settings)[None]["num"] == 3
    trend = daily_rates(session, PROVINCE, [date(2026, 2, 25), date(2026, 2, 28)], settings)
    assert trend[0]["num"] == 2 and trend[0]["den"] == 4 and trend[0]["workday"]
    assert trend[1]["workday"]  # 2026-02-28 is a 调休 Saturday: everyone works


def test_a_teachers_groups_count_only_their_own_students(session, settings):
    students = _world(session)
    s0, p0 = students[0]
    _check_in(session, s0, p0, date(2026, 2, 24))
    session.commit()
    teacher = ConsoleUser(
        username="t", role="teacher", school_id=s0.school_id, teacher_id=s0.teacher_id,
        password_hash="x",
    )  # fmt: skip
    rates = rates_by(session, teacher, rate_window(TODAY), settings, group="class")
    assert list(rates) == [s0.class_id] and rates[s0.class_id]["num"] == 1


def test_prefectures_put_county_cities_in_their_prefecture_and_the_rest_outside(session, settings):
    assert prefecture_of("凯里市") == "522600" and prefecture_of("黔东南州") == "522600"
    assert prefecture_of("毕节地区") == "520500" and prefecture_of("广州市") is None
    _world(session)
    session.commit()
    figures = prefectures(session, PROVINCE, today=TODAY, settings=settings)
    by_name = {i["short"]: i for i in figures["items"]}
    assert len(figures["items"]) == 9
    assert by_name["贵阳市"]["placements"] == 1 and by_name["黔东南州"]["placements"] == 1
    assert by_name["遵义市"]["placements"] == 1 and by_name["安顺市"]["placements"] == 0
    assert by_name["安顺市"]["rate"]["value"] is None
    assert figures["outside"]["placements"] == 1


def test_classes_rank_by_rate_not_by_head_count(session, settings):
    students = _world(session)
    for extra in range(3):  # a bigger class, bound, that never checks in
        x = make_student(
            session, student_no=f"X{extra}", class_name="汽修2303", start_date=date(2026, 1, 20)
        )
        bind(session, person_kind="student", person_id=x.id, external_id=f"x{extra}")
    (s0, p0), (s1, p1), _, _ = students
    for offset in range(1, 31):  # every day of the window
        day = TODAY - timedelta(days=offset)
        for s, p in ((s0, p0), (s1, p1)):
            _check_in(session, s, p, day)
    session.commit()
    rows = ranked(session, PROVINCE, today=TODAY, settings=settings, group="class")
    names = [r["name"] for r in rows]
    assert names[0] == "汽修2301" and rows[0]["value"] == 1.0
    biggest = next(r for r in rows if r["name"] == "汽修2303")
    assert biggest["value"] == 0 and biggest["den"] > rows[0]["den"]
    assert session.exec(select(Student)).all()
