"""Demo history: check-ins, journals, tickets and alerts up to now, with matching roll-ups."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import insert, select
from sqlmodel import Session

from core import text as zh
from core.demo_data import (
    GRADE_COMMENTS,
    HANDLING_NOTES,
    JOURNAL_SENTENCES,
    TICKET_WEIGHTS,
    TICKETS,
)
from core.due import is_workday
from core.geo import distance_m, gcj02_to_wgs84
from core.settings import Settings
from models import Alert, CaseNote, CheckIn, Journal, Placement, SchoolDay, Student, Ticket
from models.tickets import URGENT_CATEGORIES

CHUNK = 5000
TICKETS_PER_STUDENT_MONTH = 0.03
OUTSIDE_SHARE = 0.05
ALERT_DAYS = (
    7  # attendance alerts are shown for the last week  # check-ins made away from the workplace
)
CATEGORY_ZH = {
    "wages": "工资", "overtime": "加班/工时", "safety": "安全", "harassment": "骚扰/人身",
    "fees": "收费/押金", "housing": "食宿", "contract": "协议/保险", "other": "其他",
}  # fmt: skip


@dataclass
class History:
    checkins: list[dict] = field(default_factory=list)
    journals: list[dict] = field(default_factory=list)
    tickets: list[dict] = field(default_factory=list)
    notes: list[tuple[int, dict]] = field(default_factory=list)  # (ticket index, note)
    alerts: list[dict] = field(default_factory=list)  # "_ticket": ticket index or None

    def counts(self) -> dict[str, int]:
        return {
            "checkins": len(self.checkins),
            "journals": len(self.journals),
            "tickets": len(self.tickets),
            "alerts": len(self.alerts),
        }


def _local(day: date, at: time, settings: Settings, minutes: float = 0) -> datetime:
    return datetime.combine(day, at, tzinfo=settings.tz) + timedelta(minutes=minutes)


def _point(rng: random.Random, lat: float, lng: float, metres: float) -> tuple[float, float]:
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = metres * math.cos(bearing) / 111_320
    dlng = metres * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lng + dlng, 6)


def _checkin(rng, p, day: date, at: datetime, kind: str, outside: bool) -> dict:
    if outside:
        metres = rng.uniform(p.radius_m * 1.3, p.radius_m + 3000)
    else:
        metres = rng.uniform(0, p.radius_m * 0.8)
    norm = _point(rng, p.norm_lat, p.norm_lng, metres)
    telegram = rng.random() < 0.15
    raw = gcj02_to_wgs84(*norm) if telegram else norm
    dist = distance_m(norm, (p.norm_lat, p.norm_lng))
    return {
        "school_id": p.school_id, "student_id": p.student_id, "placement_id": p.id, "day": day,
        "at": at, "kind": kind, "raw_lat": raw[0], "raw_lng": raw[1],
        "datum": "wgs84" if telegram else "gcj02", "norm_lat": norm[0], "norm_lng": norm[1],
        "distance_m": round(dist, 1), "within_fence": dist <= p.radius_m, "source": "location",
        "accuracy_m": float(rng.randint(8, 65)), "label": "",
        "channel": "telegram" if telegram else "wechat", "created_at": at,
    }  # fmt: skip


def _text(rng: random.Random, minimum: int) -> str:
    sentences = rng.sample(JOURNAL_SENTENCES, len(JOURNAL_SENTENCES))
    out = ""
    for s in sentences:
        out += s
        if zh.length(out) >= minimum + 20:
            break
    return out


class _Builder:
    def __init__(self, session: Session, settings: Settings, rng, now: datetime, days: int):
        self.settings, self.rng, self.now = settings, rng, now
        self.today = now.astimezone(settings.tz).date()
        self.first = self.today - timedelta(days=days - 1)
        self.h = History()
        query = (
            select(Placement)
            .where(Placement.end_date >= self.first, Placement.start_date <= self.today)
            .order_by(Placement.id)
        )
        self.placements = session.execute(query).scalars().all()
        self.teacher = dict(session.execute(select(Student.id, Student.teacher_id)).all())
        self.keywords = {s: zh.keywords(s, top=3) for s in JOURNAL_SENTENCES}

    def days(self):
        day = self.first
        while day <= self.today:
            yield day
            day += timedelta(days=1)

    def checkins(self) -> dict[int, list[tuple[date, bool]]]:
        """Check-ins of every placement; returns each student's workdays and attendance."""
        rng, attendance = self.rng, defaultdict(list)
        reliability: dict[int, float] = {}
        lost_from: dict[int, date] = {}
        for p in self.placements:
            if p.student_id not in reliability:
                roll = rng.random()
                low, high = (0.88, 0.99) if roll < 0.85 else (0.65, 0.88)
                reliability[p.student_id] = rng.uniform(low, high)
                if roll > 0.98:  # a few students go silent for the last days
                    lost_from[p.student_id] = self.today - timedelta(days=rng.randint(3, 6))
            for day in self.days():
                if not (p.start_date <= day <= p.end_date):
                    continue
                if not is_workday(day, p.workdays_mask, self.settings):
                    continue
                present = rng.random() < reliability[p.student_id]
                if day >= lost_from.get(p.student_id, date.max):
                    present = False
                start = _local(day, p.shift_start, self.settings, rng.gauss(-12, 12))
                if present and start <= self.now:
                    outside = rng.random() < OUTSIDE_SHARE
                    self.h.checkins.append(_checkin(rng, p, day, start, "start", outside))
                    end = _local(day, p.shift_end, self.settings, rng.uniform(0, 50))
                    if rng.random() < 0.85 and end <= self.now:
                        self.h.checkins.append(_checkin(rng, p, day, end, "end", outside))
                if day < self.today:
                    attendance[p.student_id].append((day, present))
        return attendance

    def journals(self) -> None:
        rng, s = self.rng, self.settings
        by_student: dict[int, list] = defaultdict(list)
        for p in self.placements:
            by_student[p.student_id].append(p)
        starts: dict[int, list[dict]] = defaultdict(list)
        for c in self.h.checkins:
            if c["kind"] == "start":
                starts[c["student_id"]].append(c)
        diligent = {sid for sid in by_student if rng.random() < 0.08}
        monday = self.first - timedelta(days=self.first.weekday())
        for sid, places in by_student.items():
            week = monday
            while week <= self.today:
                sent = week + timedelta(days=rng.choice((4, 5, 6)))
                active = any(
                    p.start_date <= week + timedelta(6) and p.end_date >= week for p in places
                )
                at = _local(sent, time(18), s, rng.uniform(0, 300))
                if active and self.first <= sent and at <= self.now and rng.random() < 0.85:
                    self._journal(places[0], "weekly", week, at, s.journal.min_weekly)
                week += timedelta(days=7)
            if sid in diligent:
                for c in starts[sid]:
                    at = c["at"] + timedelta(hours=9, minutes=rng.randint(10, 90))
                    if rng.random() < 0.7 and at <= self.now:
                        self._journal(places[0], "daily", c["day"], at, s.journal.min_daily)

    def _journal(self, p, kind: str, period: date, at: datetime, minimum: int) -> None:
        rng = self.rng
        body = _text(rng, minimum)
        words = list(dict.fromkeys(w for sent, ws in self.keywords.items() if sent in body
                                   for w in ws))[:8]  # fmt: skip
        row = {
            "school_id": p.school_id, "student_id": p.student_id, "kind": kind,
            "period_start": period, "text": body, "char_count": zh.length(body),
            "keywords": words, "status": "submitted", "score": None, "comment": "",
            "submitted_at": at, "graded_at": None, "graded_by": "",
        }  # fmt: skip
        graded_at = at + timedelta(hours=rng.randint(12, 60))
        if graded_at <= self.now and rng.random() < (0.7 if kind == "weekly" else 0.3):
            row |= {
                "status": "graded",
                "score": rng.choice((68, 75, 80, 82, 85, 88, 90, 92, 95)),
                "comment": rng.choice(GRADE_COMMENTS),
                "graded_at": graded_at,
                "graded_by": f"teacher:{self.teacher.get(p.student_id)}",
            }
        self.h.journals.append(row)

    def tickets(self) -> None:
        rng, students = self.rng, sorted({p.student_id: p for p in self.placements}.items())
        months = (self.today - self.first).days / 30 + 1 / 30
        count = min(
            len(students), max(3, round(len(students) * TICKETS_PER_STUDENT_MONTH * months))
        )
        categories, weights = zip(*TICKET_WEIGHTS.items(), strict=True)
        for sid, p in rng.sample(students, count):
            category = rng.choices(categories, weights)[0]
            day = self.first + timedelta(days=rng.randrange((self.today - self.first).days + 1))
            created = min(_local(day, time(8), self.settings, rng.uniform(0, 840)), self.now)
            age_days = (self.now - created).total_seconds() / 86400
            steps = ("open", "acknowledged", "handling", "resolved")
            weights_by_age = (
                (6, 4, 0, 0) if age_days < 1 else ((0, 3, 4, 3) if age_days < 5 else (0, 1, 3, 6))
            )
            status = rng.choices(steps, weights_by_age)[0]
            urgent = category in URGENT_CATEGORIES
            index, at = len(self.h.tickets), created
            actor = f"teacher:{self.teacher.get(sid)}"
            for step in steps[1 : steps.index(status) + 1]:
                at = min(at + timedelta(hours=rng.uniform(1, 30)), self.now)
                note = (
                    rng.choice(HANDLING_NOTES)
                    if step != "acknowledged"
                    else "已收到，正在了解情况。"
                )
                self.h.notes.append(
                    (
                        index,
                        {
                            "case_kind": "ticket",
                            "actor": actor,
                            "status": step,
                            "note": note,
                            "at": at,
                        },
                    )
                )
            self.h.tickets.append(
                {
                    "school_id": p.school_id,
                    "student_id": sid,
                    "category": category,
                    "severity": "urgent" if urgent else "normal",
                    "description": rng.choice(TICKETS[category]),
                    "status": status,
                    "notify_parent": urgent,
                    "created_at": created,
                    "updated_at": at,
                }
            )
            if urgent:
                self._alert(
                    p,
                    "urgent_ticket",
                    created.astimezone(self.settings.tz).date(),
                    f"紧急工单（{CATEGORY_ZH[category]}）",
                    created,
                    index,
                    "resolved" if status == "resolved" else "acknowledged",
                )

    def alerts(self, attendance: dict[int, list[tuple[date, bool]]]) -> None:
        by_student = {p.student_id: p for p in self.placements}
        s = self.settings
        for sid, days in attendance.items():
            streak = 0
            for day, present in days:
                streak = 0 if present else streak + 1
                if (self.today - day).days > ALERT_DAYS:
                    continue  # older alerts were closed and archived
                at = _local(day, by_student[sid].shift_start, s, s.scheduler.digest_after_min)
                old = (self.today - day).days > 3
                status = self.rng.choice(("resolved", "acknowledged")) if old else "open"
                if streak == s.scheduler.parent_after_days:
                    self._alert(
                        by_student[sid],
                        "missing",
                        day,
                        f"连续 {streak} 个工作日未签到",
                        at,
                        None,
                        status,
                    )
                elif streak == s.scheduler.school_after_days:
                    self._alert(
                        by_student[sid],
                        "lost_contact",
                        day,
                        f"失联：连续 {streak} 个工作日未签到",
                        at,
                        None,
                        status,
                    )
        seen = set()
        for c in self.h.checkins:
            recent = (self.today - c["day"]).days <= ALERT_DAYS
            if (
                not c["within_fence"]
                and recent
                and self.rng.random() < 0.1
                and c["student_id"] not in seen
            ):
                seen.add(c["student_id"])
                p = by_student[c["student_id"]]
                self._alert(
                    p,
                    "outside_fence",
                    c["day"],
                    f"在签到范围外 {c['distance_m']:.0f} 米签到",
                    c["at"],
                    None,
                    "acknowledged",
                )

    def _alert(self, p, kind, day, message, at, ticket, status) -> None:
        self.h.alerts.append(
            {
                "school_id": p.school_id,
                "student_id": p.student_id,
                "kind": kind,
                "severity": "urgent" if kind in ("urgent_ticket", "lost_contact") else "normal",
                "day": day,
                "message": message,
                "_ticket": ticket,
                "status": status,
                "created_at": at,
                "updated_at": at,
            }
        )


def build_history(session: Session, settings: Settings, rng, *, now: datetime, days: int):
    builder = _Builder(session, settings, rng, now, days)
    attendance = builder.checkins()
    builder.journals()
    builder.tickets()
    builder.alerts(attendance)
    return builder.h


def _bulk(session: Session, model, rows: list[dict], *, returning: bool = False) -> list[int]:
    table, ids = model.__table__, []
    for i in range(0, len(rows), CHUNK):
        part = rows[i : i + CHUNK]
        if returning:
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids += session.execute(stmt, part).scalars().all()
        elif part:
            session.execute(insert(table), part)
    return ids


def roll_ups(history: History, settings: Settings) -> list[dict]:
    """SchoolDay rows that agree with the generated records."""
    tz = settings.tz
    checkins = Counter((c["school_id"], c["day"]) for c in history.checkins)
    distinct = {(c["school_id"], c["day"], c["student_id"]) for c in history.checkins}
    students = Counter(key[:2] for key in distinct)
    journals = Counter(
        (j["school_id"], j["submitted_at"].astimezone(tz).date()) for j in history.journals
    )
    tickets = Counter(
        (t["school_id"], t["created_at"].astimezone(tz).date()) for t in history.tickets
    )
    keys = sorted(set(checkins) | set(journals) | set(tickets))
    return [
        {"school_id": s, "day": d, "checkins": checkins[(s, d)],
         "students_checked_in": students[(s, d)], "journals": journals[(s, d)],
         "tickets": tickets[(s, d)]}
        for s, d in keys
    ]  # fmt: skip


def write_history(session: Session, history: History, settings: Settings) -> None:
    _bulk(session, CheckIn, history.checkins)
    _bulk(session, Journal, history.journals)
    ticket_ids = _bulk(session, Ticket, history.tickets, returning=True)
    notes = [note | {"case_id": ticket_ids[i]} for i, note in history.notes]
    _bulk(session, CaseNote, notes)
    alerts = []
    for a in history.alerts:
        row = {k: v for k, v in a.items() if k != "_ticket"}
        row["ticket_id"] = ticket_ids[a["_ticket"]] if a["_ticket"] is not None else None
        alerts.append(row)
    _bulk(session, Alert, alerts)
    _bulk(session, SchoolDay, roll_ups(history, settings))
