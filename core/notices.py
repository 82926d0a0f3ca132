"""Rendering and re-checking outbox messages at send time (scheduler kinds fill this in)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from models import OutboxMessage


def still_relevant(session: Session, row: OutboxMessage, now: datetime) -> bool:
    """False when what the message says is no longer true (e.g. the student has checked in)."""
    return True


def render(session: Session, row: OutboxMessage) -> str:
    """The text to send: the stored text, or one rendered from kind + params."""
    return row.text or ""
