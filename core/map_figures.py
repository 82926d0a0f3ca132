"""Figures by prefecture for the map, and schools, classes or teachers ranked by 签到率."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from core.rate_groups import rate, rates_by
from core.rates import CHECKIN_WINDOW_DAYS
from core.regions import OUTSIDE, PREFECTURES, prefecture_of, short_name
from core.scope import condition
from models import Alert, ConsoleUser, Placement, School, SchoolClass, Teacher
from models.tickets import OPEN_CASE

NO_CLASS = "未分班"
NO_TEACHER = "未指定教师"


def rate_window(today: date) -> list[date]:
    """The days 签到率 covers: the CHECKIN_WINDOW_DAYS before today."""
    first = today - timedelta(days=CHECKIN_WINDOW_DAYS)
    return [first + timedelta(days=i) for i in range(CHECKIN_WINDOW_DAYS)]


def prefectures(session: Session, user: ConsoleUser, *, today: date, settings) -> dict:
    """Per Guizhou prefecture: active placements, 签到率 (30 days) and unresolved alerts."""
    active = condition(user, Placement) & (Placement.start_date <= today)
    active &= Placement.end_date >= today
    placed = session.execute(
        select(Placement.city, func.count()).where(active).group_by(Placement.city)
    ).all()
    alerts = session.execute(
        select(Placement.city, func.count(func.distinct(Alert.id)))
        .join(Placement, Placement.student_id == Alert.student_id)
        .where(condition(user, Alert), Alert.status.in_(OPEN_CASE), active)
        .group_by(Placement.city)
    ).all()
    rates = rates_by(session, user, rate_window(today), settings, group="city")
    totals: dict = defaultdict(lambda: {"placements": 0, "alerts": 0, "num": 0, "den": 0})
    for city, n in placed:
        totals[prefecture_of(city)]["placements"] += n
    for city, n in alerts:
        totals[prefecture_of(city)]["alerts"] += n
    for city, r in rates.items():
        entry = totals[prefecture_of(city)]
        entry["num"] += r["num"]
        entry["den"] += r["den"]
    items = []
    for code, (name, _) in PREFECTURES.items():
        t = totals.get(code, {"placements": 0, "alerts": 0, "num": 0, "den": 0})
        items.append(
            {
                "code": code,
                "name": name,
                "short": short_name(code),
                "placements": t["placements"],
                "alerts": t["alerts"],
                "rate": rate(t["num"], t["den"]),
            }
        )
    other = totals.get(None, {"placements": 0, "alerts": 0, "num": 0, "den": 0})
    outside = {"name": OUTSIDE, "placements": other["placements"], "alerts": other["alerts"]}
    return {"items": items, "outside": outside}


_NAMES = {
    "school": (School, School.name, None),
    "class": (SchoolClass, SchoolClass.name, NO_CLASS),
    "teacher": (Teacher, Teacher.name, NO_TEACHER),
}


def ranked(session: Session, user: ConsoleUser, *, today: date, settings, group: str) -> list:
    """Schools, classes or teachers by 签到率 over the window, best first; unrated ones last."""
    model, name_col, unnamed = _NAMES[group]
    rates = rates_by(session, user, rate_window(today), settings, group=group)
    if group == "school":
        # A school with nobody due (no one bound yet) is still listed, unrated, at the bottom.
        every = session.execute(select(School.id).where(condition(user, School))).scalars()
        rates = {**{sid: rate(0, 0) for sid in every}, **rates}
    ids = [g for g in rates if g is not None]
    names = dict(
        session.execute(
            select(model.id, name_col).where(model.id.in_(ids), condition(user, model))
        ).all()
    )
    rows = []
    for g, r in rates.items():
        label = names.get(g) if g is not None else unnamed
        if label is None:
            continue
        rows.append({"id": g, "name": label, **r})
    rows.sort(key=lambda r: (r["value"] is None, -(r["value"] or 0), -r["den"], r["name"]))
    return rows
