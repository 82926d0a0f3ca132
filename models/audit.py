"""The audit log: who changed what, and when (one insert, from a Session or a Connection)."""

from __future__ import annotations

from datetime import datetime

from models.console import AuditLog
from models.prepared import PreparedInsert, RowsInsert
from models.types import utcnow

_INSERT = PreparedInsert(AuditLog.__table__)
# A writer batch's lines: on PostgreSQL one INSERT from arrays (RowsInsert).
_INSERT_ROWS = RowsInsert(
    AuditLog.__table__,
    ("at", "actor", "action", "target_kind", "target_id", "school_id", "detail"),
)


def record(
    executor,
    *,
    actor: str,
    action: str,
    target_kind: str = "",
    target_id: object = "",
    school_id: int | None = None,
    at: datetime | None = None,
    batch=None,
    **detail,
) -> None:
    """Append one line to the audit log (with the inbound path's writer `batch`: together
    with the batch's other lines, just before it commits; nothing in a batch reads the log)."""
    row = dict(
        at=at or utcnow(),
        actor=actor[:64],
        action=action[:64],
        target_kind=target_kind[:32],
        target_id=str(target_id)[:64],
        school_id=school_id,
        detail=detail,
    )
    if batch is None:
        _INSERT.run(executor, row)
        return
    batch.rows("audit_rows", _INSERT_ROWS).append(row)
