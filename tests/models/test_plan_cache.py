"""PostgreSQL plans each execution for the table as it is now, not as it was when a
long-lived connection first prepared the statement (models.db.PLAN_CACHE_MODE)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import InboundSeen

# The dedupe read of the inbound path (models.inbound.stored_replies_read).
_READ = "SELECT dedup_key, reply FROM inbound_seen WHERE channel = $1 AND dedup_key = ANY($2)"
_ARGS = "('wechat', '{msg:a,msg:b}')"


def _plan_after_growth(conn, name: str) -> list[str]:
    """EXPLAIN of the read prepared as `name` and run six times on an empty table (analyzed
    so, as a roster import leaves it), after the table grew to thousands of rows without an
    ANALYZE (autovacuum off, or not yet)."""
    conn.exec_driver_sql("TRUNCATE inbound_seen")  # no pages left by an earlier growth
    conn.exec_driver_sql("ANALYZE inbound_seen")
    conn.exec_driver_sql(f"PREPARE {name} AS {_READ}")
    for _ in range(6):  # past the custom plans PostgreSQL tries first
        conn.exec_driver_sql(f"EXECUTE {name}{_ARGS}")
    at = datetime(2026, 3, 2, tzinfo=UTC)
    rows = [dict(channel="wechat", dedup_key=f"k{i}", reply="好" * 60, at=at) for i in range(6000)]
    conn.execute(InboundSeen.__table__.insert(), rows)
    plan = conn.exec_driver_sql(f"EXPLAIN EXECUTE {name}{_ARGS}").scalars().all()
    conn.exec_driver_sql(f"DEALLOCATE {name}")
    return plan


def test_a_statement_prepared_while_its_table_was_empty_still_probes_its_index(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
        ours = _plan_after_growth(conn, "ours")
        conn.rollback()
        # PostgreSQL's default keeps the plan made for the empty table: it reads every row.
        conn.exec_driver_sql("SET plan_cache_mode = auto")
        theirs = _plan_after_growth(conn, "theirs")
        conn.rollback()
    assert "Index" in ours[0] and not [line for line in ours if "Seq Scan" in line], ours
    assert "Seq Scan on inbound_seen" in theirs[0], theirs
