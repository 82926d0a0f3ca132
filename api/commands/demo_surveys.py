"""Demo satisfaction surveys: what the survey sweep would have sent, and how people answered."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlmodel import Session

from core.settings import Settings
from models import Guardianship, Placement, Survey

# (share who answer, mean score) per respondent kind: parents answer less, and kindlier.
ANSWERING = {"student": (0.78, 3.9), "parent": (0.58, 4.2)}
COMMENT_SHARE = 0.25
COMMENTS = {
    "student": (
        "师傅很耐心，学到了很多东西。",
        "宿舍离厂区有点远，希望能安排班车。",
        "加班有点多，希望能按规定安排休息。",
        "岗位和专业挺对口的，很满意。",
        "工资发放及时，食堂伙食一般。",
        "希望学校老师多来企业看看我们。",
    ),
    "parent": (
        "孩子说单位管理规范，我们放心。",
        "希望老师能多和家长沟通孩子的情况。",
        "孩子反映夜班比较多，有点担心身体。",
        "感谢学校的安排，孩子成长很多。",
    ),
}


def _score(rng: random.Random, mean: float) -> int:
    return max(1, min(5, round(rng.gauss(mean, 0.8))))


def build_surveys(
    session: Session, settings: Settings, rng: random.Random, *, now: datetime, days: int
) -> list[dict]:
    """Survey rows for every first month and end that fell in the last `days` days."""
    cfg, tz = settings.surveys, settings.tz
    today = now.astimezone(tz).date()
    since = today - timedelta(days=days)
    parents: dict[int, list[int]] = {}
    links = session.execute(select(Guardianship.student_id, Guardianship.parent_id))
    for student_id, parent_id in links:
        parents.setdefault(student_id, []).append(parent_id)
    rows = []
    for p in session.execute(select(Placement)).scalars():
        first_month = p.start_date + timedelta(days=cfg.first_after_days)
        rounds = []
        if since <= first_month < today and first_month < p.end_date:
            rounds.append(("first_month", first_month))
        if since <= p.end_date < today:
            rounds.append(("end", p.end_date))
        for round_, day in rounds:
            sent = datetime.combine(day, cfg.send_at, tzinfo=tz)
            people = [("student", p.student_id)] + [
                ("parent", pid) for pid in parents.get(p.student_id, [])
            ]
            rows += [_row(rng, settings, p, round_, kind, pid, sent, now) for kind, pid in people]
    return rows


def _row(rng, settings, p, round_, kind, person_id, sent: datetime, now: datetime) -> dict:
    share, mean = ANSWERING[kind]
    row = dict(
        school_id=p.school_id,
        student_id=p.student_id,
        placement_id=p.id,
        round=round_,
        respondent_kind=kind,
        respondent_id=person_id,
        questions=settings.surveys.questions(kind),
        comment="",
        status="sent",
        sent_at=sent,
        reminded_at=None,
        answered_at=None,
        expires_at=sent + timedelta(days=settings.surveys.answer_days),
        created_at=sent,
        **{f"q{i}": None for i in range(1, 6)},
    )
    answered_at = sent + timedelta(hours=rng.uniform(0.2, 60))
    remind_at = sent + timedelta(hours=settings.surveys.remind_after_h)
    answers = rng.random() < share and answered_at < now
    if remind_at < now and (not answers or answered_at > remind_at):
        row["reminded_at"] = remind_at
    if answers:
        person_mean = mean + rng.gauss(0, 0.5)
        row.update({f"q{i}": _score(rng, person_mean) for i in range(1, 6)})
        row.update(status="answered", answered_at=answered_at)
        if rng.random() < COMMENT_SHARE:
            row["comment"] = rng.choice(COMMENTS[kind])
    elif row["expires_at"] <= now:
        row["status"] = "expired"
    return row


def write_surveys(session: Session, rows: list[dict]) -> None:
    for i in range(0, len(rows), 5000):
        session.execute(insert(Survey.__table__), rows[i : i + 5000])
