"""A teacher's week: each own student's check-ins Monday to Sunday, from the console's day sheet."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from api.console import queries
from models import ConsoleUser


def class_week(session: Session, user: ConsoleUser, *, today: date, settings) -> dict | None:
    """{days, rows: [{id, name, cells: [state]}], due, present} for a teacher; None otherwise."""
    if user.role != "teacher":
        return None
    monday = today - timedelta(days=today.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    states: dict[int, dict] = {}
    names: dict[int, str] = {}
    for day in days:
        if day > today:
            continue
        # The day sheet lists exactly the placements due that day (one rule for the console).
        stmt = queries.day_sheet(session, user, day=day, settings=settings)
        for row in session.execute(stmt).all():
            names[row.id] = row.name
            states.setdefault(row.id, {})[day] = "present" if row.n else "missing"
    rows = []
    for sid in sorted(names, key=lambda i: names[i]):
        cells = []
        for day in days:
            state = "future" if day > today else states[sid].get(day, "rest")
            cells.append(state)
        rows.append({"id": sid, "name": names[sid], "cells": cells})
    due = sum(c != "rest" and c != "future" for r in rows for c in r["cells"])
    present = sum(c == "present" for r in rows for c in r["cells"])
    return {"days": days, "rows": rows, "due": due, "present": present}
