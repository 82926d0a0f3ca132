"""The audit log: who changed what, and when."""

from __future__ import annotations

from sqlmodel import Session

from models import AuditLog


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_kind: str = "",
    target_id: object = "",
    school_id: int | None = None,
    **detail,
) -> None:
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            target_kind=target_kind,
            target_id=str(target_id),
            school_id=school_id,
            detail=detail,
        )
    )
