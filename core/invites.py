"""One-time invite codes that bind a chat account to a student, teacher or parent."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from models import InviteCode, Student

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    return text.strip().upper().removeprefix("QRSCENE_")


def issue_invite(
    session: Session,
    *,
    person_kind: str,
    person_id: int,
    school_id: int | None,
    now: datetime,
    ttl_days: int,
) -> InviteCode:
    """Create a fresh code for a person; their earlier unused codes stop working.

    A code printed on a lost sheet or sent to the wrong phone is void once a new one is issued.
    """
    revoke_invites(session, person_kind=person_kind, person_id=person_id, now=now)
    while True:
        code = new_code()
        if session.exec(select(InviteCode.id).where(InviteCode.code == code)).first() is None:
            break
    invite = InviteCode(
        code=code,
        person_kind=person_kind,
        person_id=person_id,
        school_id=school_id,
        created_at=now,
        expires_at=now + timedelta(days=ttl_days),
    )
    session.add(invite)
    session.flush()
    return invite


def revoke_invites(session: Session, *, person_kind: str, person_id: int, now: datetime) -> int:
    """End a person's unused, unexpired codes issued up to `now`; returns how many."""
    stmt = (
        update(InviteCode)
        .where(
            InviteCode.person_kind == person_kind,
            InviteCode.person_id == person_id,
            InviteCode.created_at <= now,
            InviteCode.used_at.is_(None),
            InviteCode.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount


def claim_invite(session: Session, *, invite_id: int, at: datetime) -> bool:
    """Mark a code used if it still is unused and unexpired: one conditional UPDATE, so two
    people sending the same code at once cannot both bind with it."""
    stmt = (
        update(InviteCode)
        .where(
            InviteCode.id == invite_id,
            InviteCode.used_at.is_(None),
            InviteCode.expires_at > at,
        )
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1


def find_student(session: Session, student_no: str) -> Student | None:
    return session.exec(select(Student).where(Student.student_no == student_no.strip())).first()
