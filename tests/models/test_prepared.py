"""models.prepared: the driver-level path returns exactly what SQLAlchemy returns."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Integer, String, bindparam, event, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError

from models import ChannelAccount, CheckIn, InboundSeen, Placement
from models.checkins import CHECKIN_COLUMNS
from models.inbound import touch_accounts
from models.prepared import Prepared, PreparedInsert, Read, RowsInsert, read_all
from models.tickets import CaseNote
from tests.factories import make_student

_CHECKIN = CheckIn.__table__
_NOTE = CaseNote.__table__


def _checkins(session, n: int = 3) -> int:
    student = make_student(session)
    placement_id = session.exec(sa_select(Placement.id)).scalar()
    session.add_all(
        CheckIn(
            school_id=student.school_id, student_id=student.id, placement_id=placement_id,
            day=date(2026, 3, 2 + i), at=datetime(2026, 3, 2 + i, 1, 0, 30, tzinfo=UTC),
            kind="start", raw_lat=26.5 + i / 10, raw_lng=None, datum="wgs84",
            distance_m=12.5 * i, within_fence=i % 2 == 0, point=None if i else "p",
        )
        for i in range(n)
    )  # fmt: skip
    session.commit()
    return student.id


def test_rows_equal_sqlalchemys_in_values_types_and_names(engine, session):
    student_id = _checkins(session)
    c = _CHECKIN.c
    statement = (
        sa_select(
            c.id, c.day, c.at, c.within_fence, c.raw_lat, c.raw_lng, c.distance_m, c.point,
            func.min(c.day).over().label("first_day"),
            sa_select(func.count()).where(c.student_id == bindparam("student_id"))
            .scalar_subquery().label("n"),
        )
        .where(c.student_id == bindparam("student_id"), c.day >= bindparam("since"))
        .order_by(c.id)
        .limit(5)
    )  # fmt: skip
    params = {"student_id": student_id, "since": date(2026, 3, 3)}
    with engine.connect() as conn:
        expected = conn.execute(statement, params).all()
        rows = Prepared(statement).all(conn, params)
    assert [tuple(r) for r in rows] == [tuple(r) for r in expected]
    assert [r._mapping for r in rows] == [dict(r._mapping) for r in expected]
    assert [type(v) for v in rows[0]] == [type(v) for v in expected[0]]
    assert rows[0].at == datetime(2026, 3, 3, 1, 0, 30, tzinfo=UTC)  # aware, as stored
    assert rows[0].day == date(2026, 3, 3) and rows[0].n == 3


def test_dml_with_and_without_returning(engine, session):
    student_id = _checkins(session)
    c = _CHECKIN.c
    flag = Prepared(
        update(_CHECKIN).where(c.student_id == bindparam("s")).values(flags=bindparam("f"))
    )
    moved = Prepared(
        update(_CHECKIN)
        .where(c.student_id == bindparam("s"), c.day == bindparam("d"))
        .values(label=bindparam("label"))
        .returning(c.id, c.label)
    )
    with engine.begin() as conn:
        assert flag.run(conn, {"s": student_id, "f": "same_point"}) == 3
        assert flag.run(conn, [{"s": student_id, "f": "x"}, {"s": 0, "f": "y"}]) == 3
        (row,) = moved.all(conn, {"s": student_id, "d": date(2026, 3, 3), "label": "门口"})
        assert row.label == "门口"
    with engine.connect() as conn:
        flags = conn.execute(sa_select(c.flags).where(c.student_id == student_id)).scalars()
        assert set(flags) == {"x"}


def test_an_insert_of_some_columns_keeps_the_others_defaults(engine):
    notes = PreparedInsert(_NOTE, _NOTE.c.id)
    before = datetime.now(UTC)
    with engine.begin() as conn:
        note_id = notes.scalar(
            conn, {"case_kind": "ticket", "case_id": 7, "actor": "t", "status": "open"}
        )
        notes.run(conn, {"case_kind": "ticket", "case_id": 7, "actor": "t", "status": "x"})
        rows = conn.execute(sa_select(_NOTE).order_by(_NOTE.c.id)).all()
    assert rows[0].id == note_id and len(rows) == 2
    assert all(r.note == "" and r.at >= before for r in rows)


def test_a_statement_that_leaves_a_python_default_out_is_refused(engine):
    with engine.begin() as conn, pytest.raises(ValueError, match="default"):
        Prepared(insert(_NOTE).values(case_kind=bindparam("k"))).run(conn, {"k": "ticket"})


def test_with_statement_listeners_it_runs_through_sqlalchemy(engine, session):
    student_id = _checkins(session)
    seen = []
    listen = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
    statement = sa_select(_CHECKIN.c.id).where(_CHECKIN.c.student_id == bindparam("s"))
    event.listen(engine, "before_cursor_execute", listen)
    try:
        with engine.connect() as conn:
            rows = Prepared(statement).all(conn, {"s": student_id})
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert len(rows) == 3 and len(seen) == 1


def test_reads_together_answer_as_each_alone_within_the_transaction(engine, session):
    student_id = _checkins(session)
    c = _CHECKIN.c
    by_day = Prepared(sa_select(c.day, c.kind).where(c.student_id == bindparam("s")))
    count = Prepared(sa_select(func.count()).where(c.student_id == bindparam("s")))
    with engine.begin() as conn:
        # A write of this transaction, not yet committed, is seen by the reads that follow.
        Prepared(update(_CHECKIN).values(kind=bindparam("k"))).run(conn, {"k": "end"})
        reads = [
            Read(by_day, {"s": student_id}, lambda rows: {r.day: r.kind for r in rows}),
            Read(count, {"s": student_id}, lambda rows: rows[0][0]),
            Read(count, {"s": 0}),
        ]
        together = read_all(conn, reads)
        alone = [read.run(conn) for read in reads]
    assert together == alone
    assert together[0] == {date(2026, 3, d): "end" for d in (2, 3, 4)}
    assert together[1] == 3 and [tuple(r) for r in together[2]] == [(0,)]


def test_a_failing_read_among_others_fails_the_call_and_the_connection_recovers(engine):
    good = Prepared(sa_select(func.count()).select_from(_CHECKIN))
    bad = Prepared(sa_select(func.cast(bindparam("x", type_=String), Integer)))
    with engine.connect() as conn:
        with pytest.raises(Exception):  # noqa: B017 - the driver's own error, whichever it is
            read_all(conn, [Read(good, {}), Read(bad, {"x": "not a number"})])
            if engine.dialect.name == "sqlite":  # SQLite casts anything: nothing to fail
                raise ValueError("SQLite has no cast error")
        conn.rollback()
        assert read_all(conn, [Read(good, {}), Read(good, {})]) == [[(0,)], [(0,)]]


def test_moving_48_hour_windows_updates_accounts_in_place(engine, session):
    """PostgreSQL: every message moves its sender's window; bulk-loaded pages keep room for
    that update on the row's own page (HOT: no new index entries), migration 0014."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's page fill")
    session.add_all(
        ChannelAccount(channel="wechat", external_id=f"o{i:05d}", person_kind="student",
                       person_id=i, display_name="学生" * 8)
        for i in range(3000)
    )  # fmt: skip
    session.commit()
    with engine.begin() as conn:
        ids = conn.execute(sa_select(ChannelAccount.id)).scalars().all()
    # Two batches of messages from a fifth of the senders, all over the table: the new row
    # versions fit in the room a page keeps, whether or not dead ones can be pruned yet (other
    # transactions on the server may hold them back).
    for n in (0, 5):
        with engine.begin() as conn:
            touch_accounts(conn, ids[n::10], datetime(2026, 3, 2, 9, n, tzinfo=UTC))
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
    with engine.connect() as conn:
        updated, hot = conn.exec_driver_sql(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
            " WHERE relid = 'channel_accounts'::regclass"
        ).one()
    assert updated >= 600 and hot / updated > 0.9, (updated, hot)


def test_an_insert_from_arrays_lets_its_foreign_key_checks_keep_their_plans(engine, session):
    """PostgreSQL: many rows into a table with foreign keys (check-ins: school, student,
    placement) are inserted under the default plan mode, so that PostgreSQL's per-row key
    checks keep their plans, and the session's force_custom_plan is back right after, or
    after the rollback when the insert failed. A table without foreign keys: the insert only."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    student_id = _checkins(session, 1)
    known = session.exec(sa_select(_CHECKIN).where(_CHECKIN.c.student_id == student_id)).one()
    row = {k: v for k, v in known._mapping.items() if k in CHECKIN_COLUMNS}
    rows = [dict(row, day=date(2026, 4, d)) for d in (1, 2)]
    sent: list[str] = []
    listen = lambda conn, cursor, statement, *args: sent.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        with engine.begin() as conn:
            assert RowsInsert(_CHECKIN, CHECKIN_COLUMNS)(conn, rows) == 2
            mode = conn.exec_driver_sql("SHOW plan_cache_mode").scalar()
        modes, sent[:] = sent[:], []
        with engine.connect() as conn:
            strangers = [dict(r, student_id=student_id + 1000) for r in rows]
            with pytest.raises(IntegrityError):
                RowsInsert(_CHECKIN, CHECKIN_COLUMNS)(conn, strangers)
            conn.rollback()
            after_failure = conn.exec_driver_sql("SHOW plan_cache_mode").scalar()
        sent.clear()
        with engine.begin() as conn:
            seen = [{"channel": "wechat", "dedup_key": f"k{i}", "reply": "", "at": known.at}
                    for i in range(2)]  # fmt: skip
            RowsInsert(InboundSeen.__table__, ("channel", "dedup_key", "reply", "at"))(conn, seen)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert [s.split(" (")[0] for s in modes] == [
        "SET LOCAL plan_cache_mode = auto", "INSERT INTO checkins",
        "SET LOCAL plan_cache_mode = force_custom_plan", "SHOW plan_cache_mode",
    ]  # fmt: skip
    assert mode == after_failure == "force_custom_plan"
    assert [s.split(" (")[0] for s in sent] == ["INSERT INTO inbound_seen"]
