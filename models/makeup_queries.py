"""Small keyword-only reads of make-up requests (补卡) (a Connection or a Session)."""

from __future__ import annotations

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select

from models.records import MakeupRequest

_MAKEUP = MakeupRequest.__table__
_PENDING_COUNT = sa_select(func.count()).where(
    _MAKEUP.c.student_id == bindparam("student_id"), _MAKEUP.c.status == "pending"
)


def pending_makeup_count(executor, *, student_id: int) -> int:
    return int(executor.execute(_PENDING_COUNT, {"student_id": student_id}).scalar() or 0)
