"""FastAPI dependencies: settings, database sessions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlmodel import Session

from core.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def get_now(request: Request) -> datetime:
    """The current time; tests pin it with app.state.clock = lambda: fixed_datetime."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else datetime.now(request.app.state.settings.tz)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]

# A row id in a path: ids are 32-bit integers on PostgreSQL; a larger number is a 422, never
# an overflow inside the database driver (a 500).
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
