"""The JSON API (/api/v1): bearer tokens, the same scoping and queries as the console."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.console import queries
from api.console.listing import MAX_PAGE as MAX_PAGE_NUMBER
from api.console.listing import Column, paginate
from api.deps import MAX_ID, NowDep, SessionDep, SettingsDep
from core.accounts import user_for_token
from core.compliance import RULES
from core.due import is_present
from core.evidence import flag_list
from core.scope import can_see_coordinates
from core.stats import overview
from core.surveys import average
from models import (
    Alert,
    CheckIn,
    ConsoleUser,
    Finding,
    Journal,
    Leave,
    Student,
    Survey,
    Ticket,
)
from models.audit import record

router = APIRouter(prefix="/api/v1", tags=["api"])
bearer = HTTPBearer(auto_error=False, description="`shixi token create <username>` 生成的令牌")
T = TypeVar("T")
MAX_PAGE = 500


def api_user(
    request: Request,
    session: SessionDep,
    now: NowDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ConsoleUser:
    user = user_for_token(session, credentials.credentials, now) if credentials else None
    if user is None:
        raise HTTPException(
            401,
            "需要有效的 API 令牌（Authorization: Bearer <token>）；令牌可能已过期或被撤销",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Every API read hands out personal data: who read what is kept, like console exports.
    query = {k: v[:100] for k, v in request.query_params.items()}
    record(
        session,
        actor=user.username,
        action="api.read",
        target_kind="api",
        target_id=request.url.path[:64],
        school_id=user.school_id,
        query=query,
    )
    session.commit()
    return user


ApiUser = Annotated[ConsoleUser, Depends(api_user)]
PageQ = Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER, description="页码（从 1 开始）")]
SchoolQ = Annotated[int | None, Query(ge=1, le=MAX_ID, description="只看这所学校")]
SizeQ = Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="每页条数")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


class StudentOut(BaseModel):
    id: int
    student_no: str
    name: str
    gender: str
    school_id: int
    school: str
    class_name: str | None
    teacher: str | None
    checked_in_today: bool
    outside_today: bool
    today: str  # present | missing | leave | unbound | off (not due today)


class CheckInOut(BaseModel):
    id: int
    student_no: str
    student_name: str
    school_id: int
    day: date
    at: datetime
    kind: str
    within_fence: bool
    distance_m: float
    source: str
    channel: str
    evidence: str  # device | event | live | pin (SPEC 11)
    flags: list[str]  # same_point, shared_point, impossible_speed, far_from_event, low_accuracy
    verified: bool  # False: 待核实, not counted as present until a teacher accepts it
    lat: float | None = None  # GCJ-02; only for the student's teacher and school admin
    lng: float | None = None


class JournalOut(BaseModel):
    id: int
    student_no: str
    school_id: int
    kind: str
    period_start: date
    submitted_at: datetime
    char_count: int
    status: str
    score: int | None
    comment: str
    text: str


class TicketOut(BaseModel):
    id: int
    student_no: str
    school_id: int
    category: str
    severity: str
    status: str
    description: str
    created_at: datetime
    updated_at: datetime


class AlertOut(BaseModel):
    id: int
    student_no: str
    school_id: int
    kind: str
    severity: str
    day: date
    status: str
    message: str
    created_at: datetime


class SurveyOut(BaseModel):
    id: int
    student_no: str
    school_id: int
    round: str  # first_month | end
    respondent_kind: str  # student | parent | mentor
    status: str  # sent | answered | expired
    questions: list[str]
    scores: list[int | None]
    average: float | None
    comment: str
    sent_at: datetime
    reminded_at: datetime | None
    answered_at: datetime | None
    expires_at: datetime


class FindingOut(BaseModel):
    id: int
    rule: str
    article: str
    severity: str
    student_no: str
    school_id: int
    school: str
    company: str
    detail: str
    evidence: list[str]
    first_seen: date
    last_seen: date
    status: str
    note: str
    waived_by: str


class LeaveOut(BaseModel):
    id: int
    number: str  # L<id>, as in chat
    student_no: str
    school_id: int
    start: date
    end: date
    status: str  # pending | approved | rejected
    reason: str
    source: str  # chat (asked by the student) | console (excused by a teacher)
    decided_by: str
    decided_at: datetime | None
    refusal: str
    created_at: datetime


class RateOut(BaseModel):
    value: float | None
    num: int
    den: int
    label: str
    definition: str


class NameValue(BaseModel):
    name: str
    value: int


class DayValue(BaseModel):
    day: date
    value: int


class SchoolValue(BaseModel):
    school: str
    value: int


class Totals(BaseModel):
    students: int
    teachers: int
    schools: int
    companies: int
    interning: int
    started: int


class TodayOut(BaseModel):
    checkins: int
    students: int
    journals: int
    tickets: int


class SurveyKindOut(BaseModel):
    kind: str
    label: str
    sent: int
    answered: int
    response: dict
    satisfied: dict
    average: float | None
    questions: list[float | None]


class SatisfactionOut(BaseModel):
    kinds: list[SurveyKindOut]
    overall: dict


class OverviewOut(BaseModel):
    as_of: date
    totals: Totals
    today: TodayOut
    active_users_14d: int
    rates: dict[str, RateOut]
    trend: list[DayValue]
    ranking: list[SchoolValue]
    gender: list[NameValue]
    regions: list[NameValue]
    majors: list[NameValue]
    industries: list[NameValue]
    salary: list[NameValue]
    satisfaction: SatisfactionOut | None = None  # absent from snapshots stored before surveys


def _page(session, stmt, request: Request, sorts: dict, default: str, settings, convert) -> dict:
    columns = [Column(k, k, sort=v) for k, v in sorts.items()]
    page = paginate(
        session,
        stmt,
        request,
        columns,
        default_sort=default,
        default_desc=default != "student_no",
        page_size=settings.console.page_size,
        max_page_size=MAX_PAGE,
    )
    return {
        "items": [convert(r) for r in page.rows],
        "total": page.total,
        "page": page.page,
        "page_size": page.page_size,
    }


CaseStatusQ = Annotated[str, Query(pattern="^(|open|acknowledged|handling|resolved)$")]


@router.get("/students", response_model=Page[StudentOut])
def list_students(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: ApiUser,
    page: PageQ = 1,
    page_size: SizeQ = None,
    q: str = "",
    school_id: SchoolQ = None,
    class_name: Annotated[str, Query(alias="class")] = "",
    status: Annotated[str, Query(pattern="^(|checked_in|missing|outside|leave|unbound)$")] = "",
):
    stmt = queries.students(
        session,
        user,
        today=now.astimezone(settings.tz).date(),
        settings=settings,
        q=q,
        school_id=school_id,
        class_name=class_name,
        status=status,
    )
    sorts = {"student_no": Student.student_no, "name": Student.name}
    return _page(
        session,
        stmt,
        request,
        sorts,
        "student_no",
        settings,
        lambda r: StudentOut(
            id=r.id,
            student_no=r.student_no,
            name=r.name,
            gender=r.gender,
            school_id=r.school_id,
            school=r.school,
            class_name=r.class_name,
            teacher=r.teacher,
            checked_in_today=bool(r.checked_in),
            outside_today=bool(r.outside),
            today=r.today,
        ),
    )


@router.get("/checkins", response_model=Page[CheckInOut])
def list_checkins(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: ApiUser,
    page: PageQ = 1,
    page_size: SizeQ = None,
    school_id: SchoolQ = None,
    date: Annotated[date | None, Query(description="YYYY-MM-DD，默认今天")] = None,
    flagged: Annotated[bool, Query(description="只列出有疑点（flags）的签到")] = False,
):
    day = date or now.astimezone(settings.tz).date()
    coords = can_see_coordinates(user)

    def out(r) -> CheckInOut:
        c = r.CheckIn
        return CheckInOut(
            id=c.id,
            student_no=r.student_no,
            student_name=r.student_name,
            school_id=c.school_id,
            day=c.day,
            at=c.at,
            kind=c.kind,
            within_fence=c.within_fence,
            distance_m=round(c.distance_m, 1),
            source=c.source,
            channel=c.channel,
            evidence=c.evidence,
            flags=flag_list(c.flags),
            verified=is_present(c),
            lat=c.norm_lat if coords else None,
            lng=c.norm_lng if coords else None,
        )

    stmt = queries.checkins(user, day=day, school_id=school_id, flagged=flagged)
    return _page(session, stmt, request, {"at": CheckIn.at}, "at", settings, out)


@router.get("/journals", response_model=Page[JournalOut])
def list_journals(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ApiUser,
    page: PageQ = 1,
    page_size: SizeQ = None,
    school_id: SchoolQ = None,
    status: Annotated[str, Query(pattern="^(|submitted|graded)$")] = "",
    kind: Annotated[str, Query(pattern="^(|daily|weekly|monthly|summary)$")] = "",
):
    stmt = queries.journals(user, status=status, kind=kind, school_id=school_id)
    return _page(
        session,
        stmt,
        request,
        {"submitted_at": Journal.submitted_at},
        "submitted_at",
        settings,
        lambda r: JournalOut(student_no=r.student_no, **r.Journal.model_dump()),
    )


@router.get("/tickets", response_model=Page[TicketOut])
def list_tickets(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ApiUser,
    page: PageQ = 1,
    page_size: SizeQ = None,
    school_id: SchoolQ = None,
    status: CaseStatusQ = "",
    category: str = "",
):
    cases = queries.cases(user, Ticket, status=status, category=category, school_id=school_id)
    return _case_page(session, cases, request, settings, Ticket, TicketOut)


@router.get("/alerts", response_model=Page[AlertOut])
def list_alerts(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ApiUser,
    page: PageQ = 1,
    page_size: SizeQ = None,
    school_id: SchoolQ = None,
    status: CaseStatusQ = "",
    kind: str = "",
):
    cases = queries.cases(user, Alert, status=status, category=kind, school_id=school_id)
    return _case_page(session, cases, request, settings, Alert, AlertOut)


def _case_page(session, stmt, request, settings, model, out):
    """A page of tickets or alerts, newest first, each with its student's number."""
    name = model.__name__  # the row's attribute holding the case

    def convert(r):
        return out(student_no=r.student_no, **getattr(r, name).model_dump())

    return _page(
        session, stmt, request, {"created_at": model.created_at}, "created_at", settings, convert
    )


FINDING_RULES = "|".join(RULES)


@router.get("/findings", response_model=Page[FindingOut])
def list_findings(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ApiUser,
    page: PageQ = 1,
    page_size: SizeQ = None,
    rule: Annotated[str, Query(pattern=f"^(|{FINDING_RULES})$", description="规则编号")] = "",
    status: Annotated[str, Query(pattern="^(|open|resolved|waived)$")] = "",
    school: Annotated[str, Query(description="学校名称或编号")] = "",
    school_id: int | None = None,
):
    """Compliance findings (SPEC section 12), newest first, scoped like every list."""
    by_id = school_id or (int(school) if school.isdigit() else None)
    stmt = queries.findings(
        user,
        rule=rule,
        status=status,
        school_id=by_id,
        school_name="" if school.isdigit() else school.strip(),
    )

    def out(r) -> FindingOut:
        f = r.Finding
        return FindingOut(
            id=f.id, rule=f.rule, article=f.article, severity=f.severity,
            student_no=r.student_no, school_id=f.school_id, school=r.school, company=r.company,
            detail=f.detail, evidence=[str(e) for e in f.evidence or []],
            first_seen=f.first_seen, last_seen=f.last_seen, status=f.status, note=f.note,
            waived_by=f.waived_by,
        )  # fmt: skip

    sorts = {"first_seen": Finding.first_seen, "id": Finding.id}
    return _page(session, stmt, request, sorts, "first_seen", settings, out)


@router.get("/leaves", response_model=Page[LeaveOut])
def list_leaves(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ApiUser,
    page: PageQ = 1,
    page_size: SizeQ = None,
    school_id: int | None = None,
    status: Annotated[str, Query(pattern="^(|pending|approved|rejected)$")] = "",
    date: Annotated[date | None, Query(description="只列出包含这一天的请假")] = None,
):
    stmt = queries.leaves(user, status=status, school_id=school_id)
    if date is not None:
        stmt = stmt.where(Leave.start_date <= date, Leave.end_date >= date)

    def out(r) -> LeaveOut:
        leave = r.Leave
        return LeaveOut(
            id=leave.id,
            number=leave.number,
            student_no=r.student_no,
            school_id=leave.school_id,
            start=leave.start_date,
            end=leave.end_date,
            status=leave.status,
            reason=leave.reason,
            source=leave.source,
            decided_by=leave.decided_by,
            decided_at=leave.decided_at,
            refusal=leave.refusal,
            created_at=leave.created_at,
        )

    sorts = {"created_at": Leave.created_at, "start": Leave.start_date}
    return _page(session, stmt, request, sorts, "created_at", settings, out)


@router.get("/stats/overview", response_model=OverviewOut)
def stats_overview(session: SessionDep, settings: SettingsDep, now: NowDep, user: ApiUser):
    return overview(
        session, user, today=now.astimezone(settings.tz).date(), settings=settings, now=now
    )


@router.get("/surveys", response_model=Page[SurveyOut])
def list_surveys(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ApiUser,
    page: PageQ = 1,
    page_size: SizeQ = None,
    school_id: int | None = None,
    status: Annotated[str, Query(pattern="^(|sent|answered|expired)$")] = "",
    respondent: Annotated[str, Query(pattern="^(|student|parent|mentor)$")] = "",
    round: Annotated[str, Query(pattern="^(|first_month|end)$")] = "",
):
    stmt = queries.surveys(
        user, status=status, respondent=respondent, round_=round, school_id=school_id
    )

    def convert(r) -> SurveyOut:
        s = r.Survey
        return SurveyOut(
            **s.model_dump(exclude={"q1", "q2", "q3", "q4", "q5"}),
            student_no=r.student_no,
            scores=s.scores(),
            average=average(s.scores()),
        )

    sorts = {"sent_at": Survey.sent_at, "answered_at": Survey.answered_at}
    return _page(session, stmt, request, sorts, "sent_at", settings, convert)
