"""The survey sweep: sent at the first month and the end, once; one reminder; quiet nights."""

from __future__ import annotations

from datetime import date

from sched_helpers import add_student, at, bind_teacher_and_parent, rows
from sqlmodel import Session, select

from models import ConversationState, Survey
from scheduler.surveys import sweep_surveys

# make_student's placement: 2026-02-01 .. 2026-07-31, so the first month is up on 2026-03-03.
FIRST_MONTH = date(2026, 3, 3)
LAST_DAY = date(2026, 7, 31)


def _sweep(engine, settings, when) -> int:
    with Session(engine) as session:
        n = sweep_surveys(session, settings, when)
        session.commit()
    return n


def _surveys(engine) -> list[Survey]:
    with Session(engine) as session:
        return list(session.exec(select(Survey).order_by(Survey.id)))


def test_first_month_survey_goes_to_student_and_parent_at_send_time_once(session, engine, settings):
    sid = add_student(session, "S001")
    bind_teacher_and_parent(session, sid)
    assert _sweep(engine, settings, at(FIRST_MONTH - date.resolution, 10)) == 0  # a day early
    assert _sweep(engine, settings, at(FIRST_MONTH, 9, 59)) == 0  # before send_at
    assert _sweep(engine, settings, at(FIRST_MONTH, 10)) == 2
    assert _sweep(engine, settings, at(FIRST_MONTH, 10, 1)) == 0  # idempotent
    surveys = _surveys(engine)
    assert [(s.respondent_kind, s.round, s.status) for s in surveys] == [
        ("student", "first_month", "sent"),
        ("parent", "first_month", "sent"),
    ]
    pushed = rows(engine, "survey")
    assert {m.person_kind for m in pushed} == {"student", "parent"}
    assert all(m.quiet_hours for m in pushed)  # students and parents are not woken
    student_msg = next(m for m in pushed if m.person_kind == "student")
    assert "已满一个月" in student_msg.text
    assert "第 1/5 题：您对实习单位的工作环境和安全条件满意吗？" in student_msg.text
    parent_msg = next(m for m in pushed if m.person_kind == "parent")
    assert "张三同学" in parent_msg.text and "孩子" in parent_msg.text
    # The student's chat is put into the survey dialog, so a bare digit answers it.
    state = session.exec(select(ConversationState).where(ConversationState.external_id == "S001"))
    assert state.one().data == {"survey": surveys[0].id}


def test_nothing_is_sent_at_night_or_to_people_not_bound(session, engine, settings):
    add_student(session, "S001")  # the student is bound; the parent is not
    session.commit()
    assert _sweep(engine, settings, at(FIRST_MONTH, 22, 30)) == 0
    assert _sweep(engine, settings, at(FIRST_MONTH, 6, 59)) == 0
    assert _sweep(engine, settings, at(FIRST_MONTH, 11)) == 1
    assert [s.respondent_kind for s in _surveys(engine)] == ["student"]


def test_one_reminder_after_two_days_then_the_survey_expires(session, engine, settings):
    add_student(session, "S001")
    session.commit()
    _sweep(engine, settings, at(FIRST_MONTH, 10))
    assert _sweep(engine, settings, at(date(2026, 3, 5), 9, 59)) == 0  # 47 h 59 min later
    assert _sweep(engine, settings, at(date(2026, 3, 5), 10)) == 1
    assert _sweep(engine, settings, at(date(2026, 3, 6), 10)) == 0  # once only
    reminder = rows(engine, "survey")[-1]
    assert "提醒" in reminder.text and "第 1/5 题" in reminder.text
    _sweep(engine, settings, at(date(2026, 3, 10), 10))  # answer_days = 7 have passed
    assert [s.status for s in _surveys(engine)] == ["expired"]


def test_end_of_placement_survey_on_its_last_day_and_a_late_binder_catches_up(
    session, engine, settings
):
    sid = add_student(session, "S001")
    session.commit()
    assert _sweep(engine, settings, at(LAST_DAY, 10)) == 1
    assert [(s.round, s.respondent_kind) for s in _surveys(engine)] == [("end", "student")]
    assert "即将结束" in rows(engine, "survey")[-1].text
    bind_teacher_and_parent(session, sid)  # the parent binds the next day
    assert _sweep(engine, settings, at(date(2026, 8, 1), 10)) == 1
    assert _sweep(engine, settings, at(date(2026, 8, 9), 10)) == 0  # past catch_up_days
    assert [s.respondent_kind for s in _surveys(engine)] == ["student", "parent"]


def test_surveys_can_be_turned_off(session, engine, settings):
    add_student(session, "S001")
    session.commit()
    settings.surveys.enabled = False
    assert _sweep(engine, settings, at(FIRST_MONTH, 10)) == 0


def test_the_bound_mentor_of_the_placement_is_asked_about_the_intern(session, engine, settings):
    from factories import bind

    from models import Mentor, Placement

    sid = add_student(session, "S001")
    company_id = session.exec(select(Placement.company_id)).one()
    mentor = Mentor(company_id=company_id, name="王师傅", phone="13900000009")
    idle = Mentor(company_id=company_id, name="赵师傅", phone="13900000010")  # not bound
    session.add_all([mentor, idle])
    session.flush()
    session.exec(select(Placement)).one().mentor_id = mentor.id
    bind(session, person_kind="mentor", person_id=mentor.id, external_id="mentor-1")
    session.commit()
    assert _sweep(engine, settings, at(FIRST_MONTH, 10)) == 2
    asked = [(s.respondent_kind, s.respondent_id) for s in _surveys(engine)]
    assert asked == [("student", sid), ("mentor", mentor.id)]
    push = rows(engine, "survey", person_kind="mentor")[0]
    assert "实习生张三" in push.text and "该实习生的工作态度" in push.text
    assert not push.quiet_hours  # company staff have no quiet hours
