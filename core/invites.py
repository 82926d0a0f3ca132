"""One-time invite codes that bind a chat account to a student, teacher or parent."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

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
    """Create a fresh code for a person; earlier unused codes of that person stay valid."""
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


def find_student(session: Session, student_no: str) -> Student | None:
    return session.exec(select(Student).where(Student.student_no == student_no.strip())).first()
