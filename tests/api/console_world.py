"""Two schools with students, records and console users of every role, for console/API tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from core.accounts import create_token, create_user
from models import Alert, CheckIn, Journal, Placement, Survey, Ticket
from models.stats import bump_school_day
from tests.factories import make_student

PASSWORD = "correct-horse-42"
SCHOOL_A = "贵州交通职业技术学院"
SCHOOL_B = "贵州轻工职业技术学院"


@dataclass
class World:
    ids: dict = field(default_factory=dict)  # name -> id of the rows made
    tokens: dict = field(default_factory=dict)  # role -> API token


def _records(session: Session, student, now: datetime, *, inside: bool, tag: str) -> dict:
    day = now.date()
    checkin = CheckIn(
        school_id=student.school_id,
        student_id=student.id,
        placement_id=1,
        day=day,
        at=now - timedelta(minutes=5),
        kind="start",
        raw_lat=26.58,
        raw_lng=106.71,
        datum="gcj02",
        norm_lat=26.58,
        norm_lng=106.71,
        distance_m=40.0 if inside else 1800.0,
        within_fence=inside,
        channel="wechat",
    )
    checkin.placement_id = session.exec(
        select(Placement.id).where(Placement.student_id == student.id)
    ).first()
    journal = Journal(
        school_id=student.school_id,
        student_id=student.id,
        kind="weekly",
        period_start=date(2026, 2, 23),
        text=f"{tag} 本周在车间学习了发动机拆装。" * 20,
        char_count=300,
        submitted_at=now - timedelta(hours=1),
    )
    ticket = Ticket(
        school_id=student.school_id,
        student_id=student.id,
        category="wages",
        description=f"{tag} 工资拖欠两个月",
        created_at=now - timedelta(hours=2),
        updated_at=now - timedelta(hours=2),
    )
    alert = Alert(
        school_id=student.school_id,
        student_id=student.id,
        kind="missing",
        day=day,
        message=f"{tag} 连续两天未签到",
    )
    survey = Survey(
        school_id=student.school_id,
        student_id=student.id,
        placement_id=checkin.placement_id,
        round="first_month",
        respondent_kind="student",
        respondent_id=student.id,
        questions=["总体满意吗？"] * 5,
        q1=4,
        q2=4,
        q3=5,
        q4=3,
        q5=4,
        status="answered",
        sent_at=now - timedelta(days=1),
        answered_at=now - timedelta(hours=20),
        expires_at=now + timedelta(days=6),
    )
    session.add_all([checkin, journal, ticket, alert, survey])
    session.flush()
    return {
        "checkin": checkin.id,
        "journal": journal.id,
        "ticket": ticket.id,
        "alert": alert.id,
        "survey": survey.id,
    }


def build_world(session: Session, now: datetime) -> World:
    """School A: a teacher's student and a colleague's student; school B: one student."""
    w = World()
    mine = make_student(
        session,
        student_no="A001",
        name="王小明",
        school=SCHOOL_A,
        class_name="汽修2301",
        teacher_phone="13800000001",
    )
    colleague = make_student(
        session,
        student_no="A002",
        name="赵小红",
        school=SCHOOL_A,
        class_name="汽修2302",
        teacher_name="周老师",
        teacher_phone="13800000002",
        gender="女",
    )
    other = make_student(
        session,
        student_no="B001",
        name="钱小多",
        school=SCHOOL_B,
        class_name="食品2301",
        teacher_name="吴老师",
        teacher_phone="13800000003",
        company="贵州食品有限公司",
    )
    for key, student, inside in (
        ("mine", mine, True),
        ("colleague", colleague, False),
        ("other", other, True),
    ):
        w.ids[key] = {"student": student.id, "school": student.school_id, "class": None}
        w.ids[key].update(_records(session, student, now, inside=inside, tag=key))
        bump_school_day(
            session,
            school_id=student.school_id,
            day=now.date(),
            checkins=1,
            students_checked_in=1,
            journals=1,
            tickets=1,
        )
    for key, student in (("mine", mine), ("colleague", colleague), ("other", other)):
        w.ids[key]["class"] = student.class_id
    create_user(session, username="province", password=PASSWORD, role="province")
    create_user(
        session, username="school_a", password=PASSWORD, role="school", school_name=SCHOOL_A
    )
    create_user(
        session,
        username="teacher_a",
        password=PASSWORD,
        role="teacher",
        school_name=SCHOOL_A,
        phone="13800000001",
    )
    session.flush()
    for role in ("province", "school_a", "teacher_a"):
        w.tokens[role] = create_token(session, username=role)
    session.commit()
    return w


def make_client(settings, engine, now: datetime) -> TestClient:
    settings = settings.model_copy(deep=True)
    settings.scheduler.enabled = False
    app = create_app(settings, engine=engine)
    app.state.clock = lambda: now
    return TestClient(app, follow_redirects=False)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "page has no CSRF field"
    return m.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    token = csrf_of(client.get("/admin/login").text)
    return client.post(
        "/admin/login", data={"username": username, "password": password, "csrf": token}
    )
