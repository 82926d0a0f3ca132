"""A week on a fixed clock: leave, a late binding and an unbound student against escalation.

李老师's class, every parent bound, the sweeps run at each day's nudge (09:30) and digest
(11:00) times from Monday 9 to Friday 13 March 2026 (an ordinary week):
- 张三 is on approved leave Monday to Wednesday and silent afterwards;
- 李四 binds on Wednesday at 08:00 and never checks in;
- 王五 never binds;
- 赵六 is bound and never checks in (the control: escalated as usual).
Everyone last checked in on Friday 6 March.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from factories import bind, make_student
from sched_helpers import at, check_in, rows
from sqlmodel import Session, select

from models import Alert, Guardianship, Student
from models.leave import create_leave, decide_leave

FRI_BEFORE = date(2026, 3, 6)
WEEK = [date(2026, 3, 9) + timedelta(days=i) for i in range(5)]
MON, TUE, WED, THU, FRI = WEEK


@pytest.fixture
def week(engine, session, sweep):
    ids = {}
    for no, name in (("S1", "张三"), ("S2", "李四"), ("S3", "王五"), ("S4", "赵六")):
        student = make_student(session, student_no=no, name=name)
        ids[name] = student.id
        parent = session.exec(
            select(Guardianship.parent_id).where(Guardianship.student_id == student.id)
        ).one()
        bind(session, person_kind="parent", person_id=parent, external_id=f"parent-{no}")
    teacher = session.get(Student, ids["张三"]).teacher_id
    bind(session, person_kind="teacher", person_id=teacher, external_id="teacher")
    for name in ("张三", "赵六"):
        bind(session, person_kind="student", person_id=ids[name], external_id=name)
    session.commit()
    for name in ("张三", "赵六"):
        check_in(session, ids[name], FRI_BEFORE)  # the bound ones, before the week
    leave = create_leave(
        session, student_id=ids["张三"], start=MON, end=WED, reason="阑尾炎住院",
        today=MON, now=at(MON, 7), max_past_days=7,
    )  # fmt: skip
    assert decide_leave(
        session, leave_id=leave.leave.id, approve=True, decider_kind="teacher", decider_id=teacher,
        decided_by="李老师", now=at(MON, 7, 30),
    ).ok  # fmt: skip
    session.commit()
    for day in WEEK:
        if day == WED:  # 李四 binds before Wednesday's nudge
            with Session(engine) as s:
                bind(s, person_kind="student", person_id=ids["李四"], external_id="李四",
                     bound_at=at(WED, 8))  # fmt: skip
                s.commit()
        sweep(day, 9, 30)
        sweep(day, 11, 0)
    return ids


def _alerts(engine, kind: str) -> list[tuple[int, date]]:
    with Session(engine) as session:
        found = session.exec(select(Alert).where(Alert.kind == kind).order_by(Alert.day)).all()
        return [(a.student_id, a.day) for a in found]


def _nudged(engine, student_id: int) -> list[date]:
    return [r.day for r in rows(engine, "nudge", person_id=student_id, person_kind="student")]


def test_a_student_on_approved_leave_is_not_nudged_and_the_parent_not_alerted(engine, week):
    zhang = week["张三"]
    assert _nudged(engine, zhang) == [THU, FRI]  # nothing while on leave
    # Leave days are skipped, not counted: silent on Thursday and Friday makes two, so the
    # parent hears on Friday, not on Tuesday.
    parent_alerts = [r for r in rows(engine, "parent_alert") if r.params["student_id"] == zhang]
    assert [r.day for r in parent_alerts] == [FRI]
    assert "张三已连续 2 个工作日没有实习签到" in parent_alerts[0].text
    assert (zhang, TUE) not in _alerts(engine, "missing")
    assert zhang not in [s for s, _ in _alerts(engine, "lost_contact")]


def test_a_student_who_binds_on_wednesday_is_not_missing_on_monday_or_tuesday(engine, week):
    li = week["李四"]
    assert _nudged(engine, li) == [WED, THU, FRI]
    missing = [day for sid, day in _alerts(engine, "missing") if sid == li]
    assert missing == [THU]  # the 2nd missed due day is Thursday, not Tuesday
    assert [day for sid, day in _alerts(engine, "lost_contact") if sid == li] == [FRI]
    wed = next(r for r in rows(engine, "teacher_digest") if r.day == WED)
    assert "李四（汽修2301）连续 1 个工作日未签到" in wed.text


def test_unbound_students_are_listed_apart_in_the_digest_and_never_reach_a_parent(engine, week):
    wang, li = week["王五"], week["李四"]
    digests = {r.day: r.text for r in rows(engine, "teacher_digest")}
    assert sorted(digests) == WEEK  # one digest a day, to the one teacher
    assert "未绑定 2 人：李四、王五" in digests[MON]
    assert "未绑定 1 人：王五" in digests[WED]
    for day in WEEK:
        head, _, unbound = digests[day].partition("未绑定")
        assert "王五" not in head and "王五" in unbound  # never among the missing
        assert "张三" not in digests[day] or day in (THU, FRI)
    assert "李四" not in digests[TUE].partition("未绑定")[0]
    parents = {r.params["student_id"] for r in rows(engine, "parent_alert")}
    assert wang not in parents
    assert wang not in {s for s, _ in _alerts(engine, "missing") + _alerts(engine, "lost_contact")}
    assert li in parents  # once bound, 李四 is escalated like anyone


def test_the_control_student_is_escalated_as_before(engine, week):
    zhao = week["赵六"]
    assert _nudged(engine, zhao) == WEEK
    assert [d for s, d in _alerts(engine, "missing") if s == zhao] == [TUE]
    assert [d for s, d in _alerts(engine, "lost_contact") if s == zhao] == [WED]
    tue = next(r for r in rows(engine, "teacher_digest") if r.day == TUE)
    assert "赵六（汽修2301）连续 2 个工作日未签到，最后签到：3月6日（周五）" in tue.text


def test_a_digest_with_nobody_missing_still_lists_the_unbound(engine, session, sweep):
    present = make_student(session, student_no="S1", name="张三")
    make_student(session, student_no="S2", name="王五")
    bind(session, person_kind="student", person_id=present.id, external_id="S1")
    bind(session, person_kind="teacher", person_id=present.teacher_id, external_id="teacher")
    session.commit()
    check_in(session, present.id, MON)
    sweep(MON, 11, 0)
    [digest] = rows(engine, "teacher_digest")
    assert digest.text.startswith(
        "【签到情况】3月9日（周一） 09:00 上班、已绑定的学生截至 11:00 都已签到。"
    )
    assert "未绑定 1 人：王五" in digest.text and "张三" not in digest.text
    assert rows(engine, "nudge") == [] and rows(engine, "parent_alert") == []
