"""Reads about people: plans that stay index lookups as the tables grow."""

from __future__ import annotations

import json

import pytest

from models.people_queries import _STUDENT_LINES


def test_a_binding_receipt_finds_its_codes_by_their_unique_index(engine):
    """SQLite has no statistics: with the role tested in WHERE it read every student's code
    through the (person_kind, person_id) index for each binding (1,148 -> 750 binds/s)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("an SQLite planner question")
    compiled = _STUDENT_LINES.statements["sqlite"].compile(dialect=engine.dialect)
    params = compiled.construct_params({"codes": json.dumps(["AB3D5F7H"])})
    args = tuple(params[name] for name in compiled.positiontup)
    with engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}", args)
        details = [row[3] for row in plan]
    codes = [d for d in details if "invite_codes" in d]
    assert codes and all("(code=?)" in d for d in codes), details
    assert not any(d.startswith("SCAN") and "students" in d for d in details), details
