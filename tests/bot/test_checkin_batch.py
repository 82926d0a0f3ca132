"""The batched location check-in: same decisions as the general handler, one transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select, update

from api.app import create_app
from bot.dispatch import Dispatcher
from bot.types import Inbound, Location
from bot.writer import GroupCommitWriter
from handlers import checkin_batch
from models import Alert, ChannelAccount, CheckIn, InboundSeen, SchoolDay
from tests.factories import GUIYANG, bind, make_student

FAR = (GUIYANG[0] + 0.0108, GUIYANG[1])  # about 1.2 km north of the workplace
OPENID = "oBatchStudent0001"


def _location(at, point=GUIYANG, user=OPENID) -> Inbound:
    loc = Location(point[0], point[1], "gcj02", source="location", label="林城西路")
    return Inbound(
        channel="wechat", user_id=user, at=at, kind="location", location=loc, intent="checkin"
    )


@pytest.fixture
def student(session):
    student = make_student(session)
    bind(session, person_kind="student", person_id=student.id, channel="wechat",
         external_id=OPENID, school_id=student.school_id)  # fmt: skip
    session.commit()
    return student


@pytest.fixture
def fast(engine, settings):
    """Run location messages through the batched path, several per batch: fast([(inbound, key)])."""
    dispatcher = Dispatcher(engine, settings)
    writer = GroupCommitWriter(engine)

    def run(*messages):
        jobs = [dispatcher.batch_job(inbound, key) for inbound, key in messages]
        results = writer.run_together(jobs)
        assert all(ok for ok, _ in results), results
        return [outcome for _, outcome in results]

    run.dispatcher = dispatcher
    return run


def _rows(session):
    session.expire_all()
    return list(session.exec(select(CheckIn).order_by(CheckIn.at, CheckIn.id)).all())


def test_a_location_becomes_a_checkin_with_its_receipt_dedupe_row_and_roll_up(
    session, fast, student, now
):
    (outcome,) = fast((_location(now), "msg:1"))
    assert outcome.status == "done"
    assert "上班签到成功：09:00" in outcome.text
    (row,) = _rows(session)
    assert (row.kind, row.within_fence, row.channel, row.label) == (
        "start", True, "wechat", "林城西路",
    )  # fmt: skip
    assert (row.school_id, row.student_id) == (student.school_id, student.id)
    seen = session.exec(select(InboundSeen)).one()
    assert (seen.dedup_key, seen.reply) == ("msg:1", outcome.text)
    day = session.exec(select(SchoolDay)).one()
    assert (day.checkins, day.students_checked_in) == (1, 1)
    account = session.exec(select(ChannelAccount)).one()
    assert account.last_inbound_at == now


def test_the_same_msgid_twice_in_one_batch_has_one_effect_and_one_answer(
    session, fast, student, now
):
    first, again = fast((_location(now), "msg:7"), (_location(now), "msg:7"))
    assert (first.status, again.status) == ("done", "duplicate")
    assert again.text == first.text
    assert len(_rows(session)) == 1
    (later,) = fast((_location(now + timedelta(seconds=5)), "msg:7"))  # WeChat's retry
    assert (later.status, later.text) == ("duplicate", first.text)
    assert len(_rows(session)) == 1


def test_start_repeat_and_end_in_one_batch_follow_the_general_rules(session, fast, student, now):
    start, repeat, end = fast(
        (_location(now), "msg:1"),
        (_location(now + timedelta(minutes=3)), "msg:2"),
        (_location(now + timedelta(hours=9)), "msg:3"),
    )
    assert "上班签到成功" in start.text
    assert repeat.text.startswith("刚才已经签到过了") and "上班签到成功" in repeat.text
    assert "下班签到成功" in end.text
    assert [r.kind for r in _rows(session)] == ["start", "end"]
    day = session.exec(select(SchoolDay)).one()
    assert (day.checkins, day.students_checked_in) == (2, 1)


def test_outside_the_fence_is_recorded_with_one_alert_for_the_teacher(session, fast, student, now):
    first, _ = fast(
        (_location(now, FAR), "msg:1"), (_location(now + timedelta(hours=1), FAR), "msg:2")
    )
    assert "超出 500 米签到范围" in first.text
    assert [r.within_fence for r in _rows(session)] == [False, False]
    (alert,) = session.exec(select(Alert)).all()
    assert alert.kind == "outside_fence" and alert.student_id == student.id


def test_batched_and_general_paths_give_the_same_answers_and_rows(
    engine, settings, session, fast, student, now
):
    steps = [(now, GUIYANG), (now + timedelta(minutes=2), GUIYANG), (now + timedelta(hours=8), FAR)]
    batched = [fast((_location(at, p), f"msg:{i}"))[0].text for i, (at, p) in enumerate(steps)]
    batched_rows = [(r.kind, r.distance_m, r.within_fence) for r in _rows(session)]
    with Session(engine) as s:
        for table in (Alert, CheckIn, SchoolDay):
            s.exec(table.__table__.delete())
        s.commit()
    general = [fast.dispatcher(_location(at, p))[0].text for at, p in steps]
    assert general == batched
    assert [(r.kind, r.distance_m, r.within_fence) for r in _rows(session)] == batched_rows


def test_an_unbound_sender_or_a_teacher_falls_back_to_the_general_path(session, fast, student, now):
    (stranger,) = fast((_location(now, user="oSomeoneElse"), "msg:1"))
    assert stranger.status == "fallback"
    with Session(session.get_bind()) as s:
        s.exec(update(ChannelAccount).values(person_kind="teacher"))
        s.commit()
    fast.dispatcher.forget("wechat", OPENID)
    (teacher,) = fast((_location(now), "msg:2"))
    assert teacher.status == "fallback"
    assert _rows(session) == [] and session.exec(select(InboundSeen)).all() == []


def test_a_cached_binding_unbound_by_another_process_never_checks_in(session, fast, student, now):
    fast((_location(now), "msg:1"))  # caches the sender
    with Session(session.get_bind()) as s:  # another process unbinds: this cache is not told
        s.exec(update(ChannelAccount).values(active=False))
        s.commit()
    (outcome,) = fast((_location(now + timedelta(hours=9)), "msg:2"))
    assert outcome.status == "fallback"
    assert len(_rows(session)) == 1


def test_a_location_through_the_webhook_uses_the_batched_path(settings, engine, session, now):
    from tests.api.wechat_craft import OPENID as CRAFT_OPENID
    from tests.api.wechat_craft import craft, fixture, open_reply

    student = make_student(session)
    bind(session, person_kind="student", person_id=student.id, channel="wechat",
         external_id=CRAFT_OPENID, school_id=student.school_id)  # fmt: skip
    session.commit()
    app = create_app(settings, engine=engine)
    app.state.clock = lambda: now
    with TestClient(app) as client:
        params, body = craft(settings, fixture("location.xml"), at=now, mode="safe")
        replies = [client.post("/wechat", params=params, content=body) for _ in range(2)]
    texts = [open_reply(settings, r.text)["Content"] for r in replies]
    assert "上班签到成功：09:00" in texts[0] and texts[1] == texts[0]
    assert app.state.wechat.writer.jobs == 2
    assert len(_rows(session)) == 1


def _student(session, n: int):
    """Another bound student (their own number and openid) on the same placement rules."""
    student = make_student(session, student_no=f"S{100 + n}", name=f"学生{n}")
    bind(session, person_kind="student", person_id=student.id, channel="wechat",
         external_id=f"oStudent{n:04d}", school_id=student.school_id)  # fmt: skip
    session.commit()
    return student


def _statements(engine, run) -> list[str]:
    """The SQL statements `run()` sends through `engine` (an executemany counts once)."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_batch_runs_the_same_statements_whatever_its_size(session, engine, fast, now):
    for n in range(6):
        _student(session, n)

    def batch(first: int, size: int, at):
        users = [f"oStudent{n:04d}" for n in range(size)]
        return lambda: fast(*[(_location(at, user=u), f"msg:{first}:{u}") for u in users])

    batch(0, 6, now)()  # reads the senders and caches them
    one = _statements(engine, batch(1, 1, now + timedelta(hours=9)))
    many = _statements(engine, batch(2, 6, now + timedelta(hours=10)))
    assert len(many) == len(one)  # no statement per check-in: the same few for 1 or 6
    assert sum(1 for sql in many if "inbound_seen" in sql) == 2  # read the keys, claim them
    assert len(_rows(session)) == 6 + 1 + 6


def test_a_key_stored_by_another_process_after_the_read_is_answered_as_a_duplicate(
    session, fast, student, now, monkeypatch
):
    (first,) = fast((_location(now), "msg:1"))
    other = _student(session, 1)
    calls = []
    # The first read misses msg:1, as if it were stored meanwhile (PostgreSQL reads the keys
    # with the senders, in one statement).
    if session.get_bind().dialect.name == "postgresql":
        real_reads = checkin_batch.batch_reads

        def raced_reads(conn, **kwargs):
            calls.append(kwargs["keys"])
            senders, stored, checkins = real_reads(conn, **kwargs)
            return senders, ({} if len(calls) == 1 else stored), checkins

        monkeypatch.setattr(checkin_batch, "batch_reads", raced_reads)
    else:
        real = checkin_batch.stored_replies

        def raced(conn, **kwargs):
            calls.append(kwargs["keys"])
            return {} if len(calls) == 1 else real(conn, **kwargs)

        monkeypatch.setattr(checkin_batch, "stored_replies", raced)
    later = now + timedelta(hours=9)
    again, fresh = fast(
        (_location(later), "msg:1"), (_location(later, user="oStudent0001"), "msg:2")
    )
    # The batch's insert met the stored key and failed; each job was then run on its own.
    assert len(calls) == 3
    assert (again.status, again.text) == ("duplicate", first.text)
    assert fresh.status == "done" and "下班" not in fresh.text  # the other student's first
    assert [r.student_id for r in _rows(session)] == [student.id, other.id]
    assert len(session.exec(select(InboundSeen)).all()) == 2


def test_a_cached_binding_moved_to_another_student_checks_in_for_that_student(
    session, fast, student, now
):
    fast((_location(now), "msg:1"))  # caches the sender as `student`
    other = make_student(session, student_no="S002", name="李四")
    session.commit()
    with Session(session.get_bind()) as s:  # rebound by another process: this cache is stale
        s.exec(update(ChannelAccount).values(person_id=other.id))
        s.commit()
    (outcome,) = fast((_location(now + timedelta(minutes=1)), "msg:2"))
    assert outcome.status == "done" and "上班签到成功" in outcome.text
    assert [r.student_id for r in _rows(session)] == [student.id, other.id]


def test_postgresql_reads_a_batch_in_one_statement_with_the_same_values(
    session, fast, settings, now
):
    from datetime import time

    from models import Placement
    from models.checkin_queries import (
        batch_reads,
        checkin_rows_of_many,
        senders_rows,
        stored_replies,
    )

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the one-statement read is PostgreSQL's")
    students = [_student(session, n) for n in range(3)]
    placement = session.exec(select(Placement).where(Placement.student_id == students[0].id)).one()
    # Floats that a decimal rendering could spoil, a whole one, a shift with seconds.
    placement.norm_lat, placement.norm_lng = 26.578300000000002, 106.0
    placement.shift_start = time(8, 59, 30)
    session.commit()
    users = [f"oStudent{n:04d}" for n in range(3)]
    at = now.replace(microsecond=123456)
    fast(*[(_location(at, user=u), f"msg:{u}") for u in users[:2]])
    day = at.astimezone(settings.tz).date()
    with session.get_bind().connect() as conn:
        keys = ["msg:oStudent0000", "msg:oStudent0001", "msg:unknown"]
        senders, stored, checkins = batch_reads(
            conn,
            channel="wechat",
            external_ids=[*users, "oNobody"],
            keys=keys,
            days=[(u, day) for u in users],
        )
        expected_senders = senders_rows(conn, channel="wechat", external_ids=[*users, "oNobody"])
        expected_checkins = checkin_rows_of_many(conn, [(s.id, day) for s in students])
        assert stored == stored_replies(conn, channel="wechat", keys=keys)
    got = sorted(tuple(row) for row in senders) + [tuple(row) for row in checkins]
    want = sorted(tuple(row) for row in expected_senders)
    want += [tuple(row) for row in expected_checkins]
    assert len(senders) == 3 and len(checkins) == 2
    assert got == want
    for got_row, want_row in zip(got, want, strict=True):  # floats stay floats, times aware
        assert [type(v) for v in got_row] == [type(v) for v in want_row]
    # A student bound twice (two accounts) still has each check-in once.
    bind(session, person_kind="student", person_id=students[0].id, channel="wechat",
         external_id="oSecondPhone", school_id=students[0].school_id)  # fmt: skip
    session.commit()
    with session.get_bind().connect() as conn:
        _, _, again = batch_reads(
            conn,
            channel="wechat",
            external_ids=[users[0], "oSecondPhone"],
            keys=[],
            days=[(users[0], day), ("oSecondPhone", day)],
        )
    assert [row.id for row in again] == [
        row.id for row in checkins if row.student_id == students[0].id
    ]
