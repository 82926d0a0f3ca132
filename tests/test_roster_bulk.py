"""Roster bulk writes: the overlapped writer path gives the same rows, and its errors undo all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.commands.roster import import_file
from models import Guardianship, Parent, Placement, Student, roster_upsert
from tests.test_roster import table_counts, write_big_roster


@pytest.fixture
def overlapped(monkeypatch):
    """Every write, however small, goes through the writer thread (PostgreSQL)."""
    monkeypatch.setattr(roster_upsert, "OVERLAP_MIN_ROWS", 1)


def test_overlapped_writes_store_the_same_rows_and_reimport_changes_nothing(
    settings, engine, tmp_path, overlapped
):
    path = tmp_path / "big.csv"
    write_big_roster(path, 300)

    roster, tally = import_file(settings, engine, path)

    assert roster.errors == []
    assert tally["student"].created == tally["placement"].created == 300
    assert tally["guardianship"].created == 300 and tally["teacher"].created == 10
    with engine.connect() as conn:
        linked = conn.execute(
            select(func.count())
            .select_from(Placement)
            .join(Student, Student.id == Placement.student_id)
            .join(Guardianship, Guardianship.student_id == Student.id)
            .join(Parent, Parent.id == Guardianship.parent_id)
            .where(Parent.phone == "137" + func.substr(Student.phone, 4))
        ).scalar_one()
    assert linked == 300  # every placement, student and parent joined by the ids drawn
    counts = table_counts(engine)

    _, again = import_file(settings, engine, path)

    assert all(t.created == 0 and t.updated == 0 for t in again.values())
    after = table_counts(engine)
    counts.pop("audit_log"), after.pop("audit_log")
    assert after == counts


def test_a_failed_write_on_the_writer_thread_undoes_the_whole_import(
    settings, engine, tmp_path, overlapped, monkeypatch
):
    path = tmp_path / "big.csv"
    write_big_roster(path, 50)
    load = roster_upsert._Bulk._load

    def failing(self, table, columns, rows):
        if table.name == "placements":
            raise RuntimeError("disk full")
        return load(self, table, columns, rows)

    monkeypatch.setattr(roster_upsert._Bulk, "_load", failing)

    with pytest.raises(RuntimeError, match="disk full"):
        import_file(settings, engine, path)

    counts = table_counts(engine)
    assert counts["students"] == counts["schools"] == counts["parents"] == 0


def test_each_copy_into_a_table_with_foreign_keys_keeps_their_checks_planned_once(
    settings, engine, tmp_path, overlapped, monkeypatch
):
    """PostgreSQL checks every foreign key of every copied row with a prepared query; the
    COPYs run under the default plan mode, where those keep their plans, and the session's
    force_custom_plan is set back right after each (models.db.CACHED_PLANS / PLAN_EACH)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    import psycopg

    from models.db import CACHED_PLANS, PLAN_EACH

    sent: list[str] = []
    execute, copy = psycopg.Cursor.execute, psycopg.Cursor.copy

    def recording_execute(self, query, *args, **kwargs):
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    def recording_copy(self, statement, *args, **kwargs):
        sent.append(str(statement))
        return copy(self, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", recording_execute)
    monkeypatch.setattr(psycopg.Cursor, "copy", recording_copy)
    path = tmp_path / "big.csv"
    write_big_roster(path, 40)

    roster, tally = import_file(settings, engine, path)

    assert roster.errors == [] and tally["placement"].created == 40
    copies = [i for i, s in enumerate(sent) if s.startswith("COPY ")]
    keyed = [i for i in copies if sent[i].split()[1] in ("students", "placements", "guardianships")]
    assert len(keyed) == 3
    for i in keyed:
        assert (sent[i - 1], sent[i + 1]) == (CACHED_PLANS, PLAN_EACH), sent[i]
