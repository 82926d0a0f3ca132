"""Survey results (三方满意度) for the dashboard and the report: one function, scoped."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlmodel import Session

from core.rates import ratio
from core.scope import condition
from core.surveys import RESPONDENT_NAMES, SATISFIED_FROM
from models import ConsoleUser, Survey
from models.surveys import RESPONDENTS, SCORE_COLUMNS


def _mean(value) -> float | None:
    return None if value is None else round(float(value), 2)


def satisfaction(
    session: Session, user: ConsoleUser, *, first: date, last: date, tz: ZoneInfo
) -> dict:
    """Surveys sent in [first, last]: per respondent kind and overall, the response rate, the
    mean score (of each question, and of all five) and the share satisfied (mean >= 4)."""
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(last + timedelta(days=1), time(), tz)
    answered = Survey.status == "answered"
    cols = [getattr(Survey, c) for c in SCORE_COLUMNS]
    total = sum(cols[1:], cols[0])
    satisfied = answered & (total >= SATISFIED_FROM * len(cols))
    rows = session.execute(
        select(
            Survey.respondent_kind,
            func.count(),
            func.sum(case((answered, 1), else_=0)),
            func.sum(case((satisfied, 1), else_=0)),
            func.avg(case((answered, total * 1.0 / len(cols)))),
            *[func.avg(case((answered, c * 1.0))) for c in cols],
        )
        .where(condition(user, Survey), Survey.sent_at >= start, Survey.sent_at < end)
        .group_by(Survey.respondent_kind)
    ).all()
    found = {row[0]: row for row in rows}
    kinds, sums = [], {"sent": 0, "answered": 0, "satisfied": 0, "score_sum": 0.0}
    for kind in RESPONDENTS:
        _, sent, done, happy, mean, *questions = found.get(kind, (kind, 0, 0, 0, None))
        sent, done, happy = int(sent or 0), int(done or 0), int(happy or 0)
        kinds.append(
            {
                "kind": kind,
                "label": RESPONDENT_NAMES[kind],
                "sent": sent,
                "answered": done,
                "response": ratio(done, sent),
                "satisfied": ratio(happy, done),
                "average": _mean(mean),
                "questions": [_mean(q) for q in questions] or [None] * len(cols),
            }
        )
        sums["sent"] += sent
        sums["answered"] += done
        sums["satisfied"] += happy
        sums["score_sum"] += float(mean or 0) * done
    n = sums["answered"]
    overall = {
        "sent": sums["sent"],
        "answered": n,
        "response": ratio(n, sums["sent"]),
        "satisfied": ratio(sums["satisfied"], n),
        "average": round(sums["score_sum"] / n, 2) if n else None,
    }
    return {"kinds": kinds, "overall": overall}
