"""Satisfaction surveys (三方满意度): one per respondent, placement and round, and their queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint, select
from sqlmodel import Field, Session, SQLModel

from models.channel import ChannelAccount, ConversationState
from models.placement import Placement
from models.types import AwareDateTime, utcnow

ROUNDS = ("first_month", "end")
RESPONDENTS = ("student", "parent", "mentor")
SCORE_COLUMNS = ("q1", "q2", "q3", "q4", "q5")
SURVEY_STATE = "survey"  # the dialog state of a chat account answering a survey


class Survey(SQLModel, table=True):
    """A survey sent to one person about one placement; answers fill q1..q5, then comment."""

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("placement_id", "round", "respondent_kind", "respondent_id"),
        Index("ix_surveys_school_sent", "school_id", "sent_at"),
        Index("ix_surveys_respondent", "respondent_kind", "respondent_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id")
    student_id: int = Field(foreign_key="students.id", index=True)
    placement_id: int = Field(foreign_key="placements.id")
    round: str = Field(max_length=12)  # first_month | end
    respondent_kind: str = Field(max_length=12)  # student | parent | mentor
    respondent_id: int
    questions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    q1: int | None = None
    q2: int | None = None
    q3: int | None = None
    q4: int | None = None
    q5: int | None = None
    comment: str = ""
    status: str = Field(default="sent", max_length=12)  # sent | answered | expired
    sent_at: datetime = Field(sa_type=AwareDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)

    def scores(self) -> list[int | None]:
        return [getattr(self, c) for c in SCORE_COLUMNS]

    def next_question(self) -> int:
        """The 0-based index of the first unanswered question (len(SCORE_COLUMNS) when done)."""
        scores = self.scores()
        return next((i for i, s in enumerate(scores) if s is None), len(scores))


def placement_mentors(session: Session, *, placement_ids: list[int]) -> dict[int, list[int]]:
    """Mentor ids per placement: who is asked the mentor survey about that intern.

    A placement's mentor is the one its roster row names (mentor_name / mentor_phone); only
    bound mentors are asked (the caller filters).
    """
    out: dict[int, list[int]] = {}
    for i in range(0, len(placement_ids), 500):
        part = placement_ids[i : i + 500]
        rows = session.execute(
            select(Placement.id, Placement.mentor_id)
            .where(Placement.id.in_(part), Placement.mentor_id.is_not(None))
            .order_by(Placement.id)
        )
        for placement_id, mentor_id in rows:
            out.setdefault(placement_id, []).append(mentor_id)
    return out


def open_survey(session: Session, *, survey_id: int, now: datetime) -> Survey | None:
    """The survey if it can still be answered (sent, not answered, not expired)."""
    survey = session.get(Survey, survey_id)
    if survey is None or survey.status != "sent" or survey.expires_at <= now:
        return None
    return survey


def next_open_survey(
    session: Session, *, person_kind: str, person_id: int, now: datetime
) -> Survey | None:
    """The oldest survey this person can still answer."""
    return session.execute(
        select(Survey)
        .where(
            Survey.respondent_kind == person_kind,
            Survey.respondent_id == person_id,
            Survey.status == "sent",
            Survey.expires_at > now,
        )
        .order_by(Survey.sent_at, Survey.id)
        .limit(1)
    ).scalar_one_or_none()


def count_open_surveys(session: Session, *, person_kind: str, person_id: int, now: datetime) -> int:
    """How many surveys this person can still answer."""
    return len(
        session.execute(
            select(Survey.id).where(
                Survey.respondent_kind == person_kind,
                Survey.respondent_id == person_id,
                Survey.status == "sent",
                Survey.expires_at > now,
            )
        ).all()
    )


def record_score(session: Session, *, survey: Survey, question: int, score: int) -> None:
    """Store the answer to question `question` (0-based)."""
    setattr(survey, SCORE_COLUMNS[question], score)
    session.add(survey)
    session.flush()


def finish_survey(session: Session, *, survey: Survey, comment: str, now: datetime) -> None:
    """Mark the survey answered, with its optional comment."""
    survey.comment, survey.status, survey.answered_at = comment, "answered", now
    session.add(survey)
    session.flush()


def open_survey_dialogs(
    session: Session,
    *,
    person_kind: str,
    person_id: int,
    survey_id: int,
    now: datetime,
    expires_at: datetime,
) -> int:
    """Put the person's chat accounts into the survey dialog, unless one is in another dialog.

    A half-written journal is never thrown away for a survey: such an account answers after
    sending 「问卷」. Returns how many accounts were put into the dialog.
    """
    accounts = session.execute(
        select(ChannelAccount.channel, ChannelAccount.external_id).where(
            ChannelAccount.person_kind == person_kind,
            ChannelAccount.person_id == person_id,
            ChannelAccount.active.is_(True),
        )
    ).all()
    opened = 0
    for channel, external_id in accounts:
        row = session.execute(
            select(ConversationState).where(
                ConversationState.channel == channel,
                ConversationState.external_id == external_id,
            )
        ).scalar_one_or_none()
        if row is not None and row.expires_at > now and row.state != SURVEY_STATE:
            continue
        if row is None:
            row = ConversationState(channel=channel, external_id=external_id, state=SURVEY_STATE)
        row.state, row.data = SURVEY_STATE, {"survey": survey_id}
        row.updated_at, row.expires_at = now, expires_at
        session.add(row)
        opened += 1
    session.flush()
    return opened
