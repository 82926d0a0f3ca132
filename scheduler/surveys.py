"""Satisfaction surveys: sent after a placement's first month and at its end; one reminder each."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import literal, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from core.settings import Settings
from core.surveys import opening_text, reminder_text
from models import ChannelAccount, Guardianship, Mentor, Parent, Placement, Student, Survey
from models.surveys import open_survey_dialogs, placement_mentors
from scheduler.fanout import Message, chunks, enqueue_all

NAMES = {"student": Student, "parent": Parent, "mentor": Mentor}


def sweep_surveys(session: Session, settings: Settings, now: datetime) -> int:
    """Send the surveys that are due, remind once, expire old ones; returns messages queued."""
    cfg = settings.surveys
    if not cfg.enabled:
        return 0
    local = now.astimezone(settings.tz)
    if not _sending_hours(local.time(), settings):
        return 0
    session.execute(
        update(Survey)
        .where(Survey.status == "sent", Survey.expires_at <= now)
        .values(status="expired")
    )
    return _send_due(session, settings, now, local.date()) + _remind(session, settings, now)


def _sending_hours(t: time, settings: Settings) -> bool:
    """From [surveys] send_at until the evening's quiet hours begin.

    Nobody is asked to answer at night; the outbox still holds any student or parent message
    through the quiet hours by its own rule (quiet_hours=True), so this is only the window.
    """
    start, evening = settings.surveys.send_at, settings.scheduler.quiet_start
    return start <= t < evening if evening > start else t >= start


def due_placements(session: Session, settings: Settings, today: date) -> list:
    """(placement, student, school, company, round) of the surveys due today or within catch-up."""
    n, late = settings.surveys.first_after_days, settings.surveys.catch_up_days
    cols = (Placement.id, Placement.student_id, Placement.school_id, Placement.company_id)
    first = select(*cols, literal("first_month").label("round")).where(
        Placement.start_date.between(today - timedelta(days=n + late), today - timedelta(days=n)),
        Placement.end_date > today,  # one that ends now gets the end survey instead
    )
    end = select(*cols, literal("end").label("round")).where(
        Placement.end_date.between(today - timedelta(days=late), today)
    )
    return session.execute(union_all(first, end)).all()


def _bound(session: Session, kind: str, ids) -> set[int]:
    out: set[int] = set()
    for part in chunks(sorted(set(ids))):
        out.update(
            session.execute(
                select(ChannelAccount.person_id).where(
                    ChannelAccount.person_kind == kind,
                    ChannelAccount.person_id.in_(part),
                    ChannelAccount.active.is_(True),
                )
            ).scalars()
        )
    return out


def _respondents(session: Session, due: list) -> list[tuple]:
    """(placement row, respondent kind, respondent id) for every bound respondent."""
    students = _bound(session, "student", (r.student_id for r in due))
    parents: dict[int, list[int]] = defaultdict(list)
    for part in chunks(sorted({r.student_id for r in due})):
        for student_id, parent_id in session.execute(
            select(Guardianship.student_id, Guardianship.parent_id).where(
                Guardianship.student_id.in_(part)
            )
        ):
            parents[student_id].append(parent_id)
    bound_parents = _bound(session, "parent", (p for ps in parents.values() for p in ps))
    mentors = placement_mentors(session, placement_ids=[r.id for r in due])
    bound_mentors = _bound(session, "mentor", (m for ms in mentors.values() for m in ms))
    out = []
    for r in due:
        if r.student_id in students:
            out.append((r, "student", r.student_id))
        out += [(r, "parent", p) for p in parents.get(r.student_id, ()) if p in bound_parents]
        out += [(r, "mentor", m) for m in mentors.get(r.id, ()) if m in bound_mentors]
    return out


def _existing(session: Session, placement_ids: list[int]) -> set[tuple]:
    out: set[tuple] = set()
    for part in chunks(placement_ids):
        out.update(
            tuple(row)
            for row in session.execute(
                select(
                    Survey.placement_id, Survey.round, Survey.respondent_kind, Survey.respondent_id
                ).where(Survey.placement_id.in_(part))
            )
        )
    return out


def _insert_ignoring(session: Session, rows: list[dict]) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    key = ["placement_id", "round", "respondent_kind", "respondent_id"]
    for part in chunks(rows, 200):
        stmt = dialect.insert(Survey.__table__).values(list(part))
        session.execute(stmt.on_conflict_do_nothing(index_elements=key))


def _send_due(session: Session, settings: Settings, now: datetime, today: date) -> int:
    due = due_placements(session, settings, today)
    if not due:
        return 0
    done = _existing(session, sorted({r.id for r in due}))
    expires = now + timedelta(days=settings.surveys.answer_days)
    rows = [
        dict(
            school_id=r.school_id,
            student_id=r.student_id,
            placement_id=r.id,
            round=r.round,
            respondent_kind=kind,
            respondent_id=pid,
            questions=settings.surveys.questions(kind),
            comment="",
            status="sent",
            sent_at=now,
            expires_at=expires,
            created_at=now,
        )
        for r, kind, pid in _respondents(session, due)
        if (r.id, r.round, kind, pid) not in done
    ]
    if not rows:
        return 0
    _insert_ignoring(session, rows)
    new = _surveys_sent_at(session, sorted({r["placement_id"] for r in rows}), now)
    return _push(session, settings, new, now, reminder=False)


def _surveys_sent_at(session: Session, placement_ids: list[int], now: datetime) -> list[Survey]:
    """The surveys this run created (another process's rows carry another `sent_at`)."""
    out: list[Survey] = []
    for part in chunks(placement_ids):
        out += session.execute(
            select(Survey).where(Survey.placement_id.in_(part), Survey.sent_at == now)
        ).scalars()
    return out


def _remind(session: Session, settings: Settings, now: datetime) -> int:
    """One reminder for each survey left unanswered for [surveys] remind_after_h."""
    since = now - timedelta(hours=settings.surveys.remind_after_h)
    due = list(
        session.execute(
            select(Survey).where(
                Survey.status == "sent",
                Survey.reminded_at.is_(None),
                Survey.sent_at <= since,
                Survey.expires_at > now,
            )
        ).scalars()
    )
    for part in chunks([s.id for s in due]):
        session.execute(update(Survey).where(Survey.id.in_(part)).values(reminded_at=now))
    return _push(session, settings, due, now, reminder=True)


def _names(session: Session, model, ids) -> dict[int, str]:
    out: dict[int, str] = {}
    for part in chunks(sorted(set(ids))):
        out.update(session.execute(select(model.id, model.name).where(model.id.in_(part))).all())
    return out


def _push(
    session: Session, settings: Settings, surveys: list[Survey], now: datetime, *, reminder: bool
) -> int:
    """Queue the opening message (or the reminder) and open the survey dialog in each chat."""
    students = _names(session, Student, (s.student_id for s in surveys))
    people = {
        k: _names(session, model, (s.respondent_id for s in surveys if s.respondent_kind == k))
        for k, model in NAMES.items()
    }
    messages = []
    for s in surveys:
        student = students.get(s.student_id, "")
        if reminder:
            index = s.next_question()
            text = reminder_text(student=student, questions=s.questions, next_index=index)
        else:
            name = people[s.respondent_kind].get(s.respondent_id, "")
            text = opening_text(
                s.respondent_kind, name=name, student=student, round_=s.round, questions=s.questions
            )
        messages.append(
            Message(
                person_kind=s.respondent_kind,
                person_id=s.respondent_id,
                key=f"survey{'_reminder' if reminder else ''}:{s.id}",
                kind="survey",
                text=text,
                school_id=s.school_id,
                quiet_hours=s.respondent_kind != "mentor",  # students and parents rest at night
                expires_at=s.expires_at,
                params={"survey_id": s.id},
            )
        )
        open_survey_dialogs(
            session,
            person_kind=s.respondent_kind,
            person_id=s.respondent_id,
            survey_id=s.id,
            now=now,
            expires_at=s.expires_at,
        )
    return enqueue_all(session, messages, now)
