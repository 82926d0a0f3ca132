"""Personal information (SPEC section 13): consent at binding, export and erasure of everything
naming a student, the retention sweep."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel
from typer.testing import CliRunner

from api.cli import app
from bot.pipeline import Pipeline
from core.invites import issue_invite
from core.privacy import NOTICE_VERSION
from models import (
    Alert,
    AuditLog,
    CaseNote,
    ChannelAccount,
    CheckIn,
    Consent,
    Guardianship,
    Journal,
    LocationSample,
    Parent,
    SchoolDay,
    Student,
    Ticket,
)
from models.stats import bump_school_day
from scheduler.retention import purge_expired, sweep_retention
from tests.factories import GUIYANG, make_student
from tests.handlers.conftest import Chat

DAILY = (
    "今天在车间跟着师傅学习了发动机的拆装流程，认识了各种工具的用法，还练习了拧螺栓的力矩控制，收获很大。"
    * 2
)


def _code(session, now, kind, person_id, school_id) -> str:
    invite = issue_invite(session, person_kind=kind, person_id=person_id, school_id=school_id,
                          now=now, ttl_days=30)  # fmt: skip
    session.commit()
    return invite.code


@pytest.fixture
def lived(engine, settings, session, now):
    """S001 bound in chat, with a check-in, samples, a journal, a ticket, a parent who bound;
    S002 of the same school with a parent of their own and one shared with nobody."""
    student = make_student(session, student_no="S001", name="张三", parent_phone="13700000001")
    other = make_student(session, student_no="S002", name="李四", parent_phone="13700000002")
    dispatcher = Pipeline(engine, settings)
    chats = {
        who: Chat(dispatcher, now, user_id=who, channel="wechat")
        for who in ("oStudent1", "oParent1", "oStudent2")
    }
    parent_id = session.execute(
        select(Guardianship.parent_id).where(Guardianship.student_id == student.id)
    ).scalar_one()
    assert "绑定成功" in chats["oStudent1"].send(
        "绑定 " + _code(session, now, "student", student.id, student.school_id)
    )
    assert "绑定成功" in chats["oParent1"].send(
        "绑定 " + _code(session, now, "parent", parent_id, student.school_id)
    )
    assert "绑定成功" in chats["oStudent2"].send(
        "绑定 " + _code(session, now, "student", other.id, other.school_id)
    )
    for chat in (chats["oStudent1"], chats["oStudent2"]):
        chat.later(minutes=1).location(*GUIYANG)
        chat.later(minutes=1).send("", location=_loc(source="event"), kind="event")
        chat.later(minutes=1).send("日报 " + DAILY)
        chat.later(minutes=1).send("提交")
        chat.later(minutes=1).send("维权 老板拖欠工资两个月了，怎么办")
    session.expire_all()
    ticket = session.execute(select(Ticket).where(Ticket.student_id == student.id)).scalar_one()
    session.add(CaseNote(case_kind="ticket", case_id=ticket.id, actor="李老师", status="open",
                         note="已联系企业", at=now))  # fmt: skip
    session.add(Alert(school_id=student.school_id, student_id=student.id, kind="urgent_ticket",
                      day=now.date(), ticket_id=ticket.id, message="工资"))  # fmt: skip
    session.commit()
    return student, other, chats


def _loc(source: str):
    from bot.types import Location

    return Location(GUIYANG[0] + 0.001, GUIYANG[1], "gcj02", source=source, accuracy_m=30.0)


def _count(session, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return session.execute(query).scalar_one()


def test_binding_records_consent_with_the_notice_version_and_guardians_through_parents(
    session, lived, now
):
    student, _, _ = lived
    consents = session.execute(select(Consent).where(Consent.student_id == student.id)).scalars()
    consents = list(consents)
    # Exactly one row each: the student's own binding and the parent's (not one per path).
    assert sorted(c.basis for c in consents) == ["guardian", "self"]
    by_basis = {c.basis: c for c in consents}
    assert by_basis["self"].notice_version == NOTICE_VERSION and by_basis["self"].at == now
    assert by_basis["guardian"].person_kind == "parent"


@pytest.fixture
def shixi(db_url, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    monkeypatch.setenv("SHIXI_CONFIG", str(config))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_export_gives_every_row_naming_the_student_and_no_other(shixi, session, lived, tmp_path):
    student, _, _ = lived
    out = tmp_path / "s001.zip"
    result = shixi("privacy", "export", "S001", "--out", str(out))
    assert result.exit_code == 0, result.output
    archive = zipfile.ZipFile(io.BytesIO(out.read_bytes()))
    data = json.loads(archive.read("data.json"))
    for table in ("students", "checkins", "location_samples", "journals", "tickets",
                  "channel_accounts", "consents", "parents", "case_notes", "alerts",
                  "placements", "audit_log", "invite_codes"):  # fmt: skip
        assert data.get(table), table
        assert f"{table}.csv" in archive.namelist()
    assert data["checkins"][0]["norm_lat"] is not None  # with coordinates
    assert len(data["location_samples"]) == 1
    assert {r["student_id"] for t in data.values() for r in t if "student_id" in r} == {student.id}
    assert "李四" not in archive.read("data.json").decode()
    assert shixi("privacy", "export", "NOPE", "--out", str(out)).exit_code == 1


def test_erase_leaves_only_an_audit_line_and_the_chat_account_acts_as_nobody(
    shixi, engine, session, lived
):
    student, other, chats = lived
    sid = student.id
    result = shixi("privacy", "erase", "S001")
    assert result.exit_code == 0, result.output
    session.expire_all()
    for table in SQLModel.metadata.sorted_tables:
        if "student_id" in table.c:
            left = session.execute(
                select(func.count()).select_from(table).where(table.c.student_id == sid)
            ).scalar_one()
            assert left == 0, table.name
    assert session.get(Student, sid) is None
    assert _count(session, ChannelAccount, person_kind="student", person_id=sid) == 0
    assert _count(session, LocationSample, external_id="oStudent1") == 0
    assert _count(session, Parent, phone="13700000001") == 0  # a guardian of this child only
    assert _count(session, ChannelAccount, external_id="oParent1") == 0
    lines = session.execute(select(AuditLog).where(AuditLog.target_id.in_(["S001", str(sid)])))
    assert [(a.action, a.target_id) for a in lines.scalars()] == [("privacy.erase", "S001")]
    # S002's records are untouched.
    assert _count(session, CheckIn, student_id=other.id) == 1
    assert _count(session, Journal, student_id=other.id) == 1
    reply = chats["oStudent1"].later(minutes=5).send("状态")
    assert "还没有绑定身份" in reply
    chats["oStudent1"].later(minutes=1).location(*GUIYANG)
    assert _count(session, CheckIn) == 1


def test_the_retention_sweep_deletes_personal_records_of_long_ended_placements(
    settings, session, lived, now
):
    student, other, _ = lived
    for placement in student_placements(session, student.id):
        placement.end_date = date(2026, 3, 31)
    session.commit()
    bump_school_day(session, school_id=student.school_id, day=now.date(), checkins=2)
    session.commit()
    ticket_id = session.execute(
        select(Ticket.id).where(Ticket.student_id == student.id)
    ).scalar_one()
    days = settings.privacy.retain_days_after_end
    day_after = now + timedelta(days=days + 31)  # 2026-03-31 + retention has passed
    at_night = day_after.replace(hour=2)
    assert sweep_retention(session, settings, at_night) == {}  # runs from 03:00
    counts = sweep_retention(session, settings, day_after)
    session.commit()
    assert counts["checkin_coordinates"] == 1 and counts["journals"] == 1
    assert counts["tickets"] == 1 and counts["location_samples"] == 1
    assert sweep_retention(session, settings, day_after + timedelta(hours=1)) == {}  # once a day
    session.expire_all()
    checkin = session.execute(select(CheckIn).where(CheckIn.student_id == student.id)).scalar_one()
    assert (checkin.norm_lat, checkin.raw_lng, checkin.label) == (None, None, "")
    assert checkin.within_fence  # attendance stays
    assert _count(session, Journal, student_id=student.id) == 0
    assert _count(session, Ticket, student_id=student.id) == 0
    assert _count(session, LocationSample, student_id=student.id) == 0
    assert _count(session, CaseNote, case_kind="ticket", case_id=ticket_id) == 0
    assert _count(session, Alert, student_id=student.id) == 0
    assert _count(session, SchoolDay) == 1  # aggregates stay
    # S002's placement runs to 2026-07-31: a year after that has not passed.
    assert _count(session, Journal, student_id=other.id) == 1
    assert purge_expired(session, settings, day_after) == {}  # idempotent


def test_records_of_a_later_placement_outlive_an_earlier_expired_one(settings, session, lived, now):
    from models import Placement

    student, _, _ = lived
    (current,) = student_placements(session, student.id)
    earlier = Placement(**current.model_dump(exclude={"id"}))
    earlier.start_date, earlier.end_date = date(2024, 9, 1), date(2024, 12, 31)
    session.add(earlier)
    session.add(
        Journal(
            school_id=student.school_id,
            student_id=student.id,
            kind="weekly",
            period_start=date(2024, 10, 7),
            text="旧周记",
            char_count=3,
        )
    )
    session.commit()
    counts = purge_expired(session, settings, now)  # 2024-12-31 + 365 days < 2026-03-02
    session.commit()
    assert counts == {"journals": 1}  # the 2024 weekly journal; this year's records stay
    assert _count(session, Journal, student_id=student.id) == 1
    assert _count(session, Ticket, student_id=student.id) == 1
    assert _count(session, LocationSample, student_id=student.id) == 1


def student_placements(session, student_id):
    from models import Placement

    return list(
        session.execute(select(Placement).where(Placement.student_id == student_id)).scalars()
    )
