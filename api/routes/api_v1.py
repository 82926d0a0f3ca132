"""The JSON API (/api/v1): bearer tokens, the same scoping and queries as the console."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.console import queries
from api.console.listing import Column, paginate
from api.deps import NowDep, SessionDep, SettingsDep
from core.accounts import user_for_token
from core.scope import can_see_coordinates
from core.stats import overview
from models import Alert, CheckIn, ConsoleUser, Journal, Student, Ticket

router = APIRouter(prefix="/api/v1", tags=["api"])
bearer = HTTPBearer(auto_error=False, description="`shixi token create <username>` 生成的令牌")
T = TypeVar("T")
MAX_PAGE = 500


def api_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ConsoleUser:
    user = user_for_token(session, credentials.credentials) if credentials else None
    if user is None:
        raise HTTPException(
            401,
            "需要有效的 API 令牌（Authorization: Bearer <token>）",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


ApiUser = Annotated[ConsoleUser, Depends(api_user)]
PageQ = Annotated[int, Query(ge=1, description="页码（从 1 开始）")]
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
    school_id: int | None = None,
    class_name: Annotated[str, Query(alias="class")] = "",
    status: Annotated[str, Query(pattern="^(|checked_in|missing|outside)$")] = "",
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
    school_id: int | None = None,
    date: Annotated[date | None, Query(description="YYYY-MM-DD，默认今天")] = None,
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
            lat=c.norm_lat if coords else None,
            lng=c.norm_lng if coords else None,
        )

    stmt = queries.checkins(user, day=day, school_id=school_id)
    return _page(session, stmt, request, {"at": CheckIn.at}, "at", settings, out)


@router.get("/journals", response_model=Page[JournalOut])
def list_journals(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ApiUser,
    page: PageQ = 1,
    page_size: SizeQ = None,
    school_id: int | None = None,
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
    school_id: int | None = None,
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
    school_id: int | None = None,
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


@router.get("/stats/overview", response_model=OverviewOut)
def stats_overview(session: SessionDep, settings: SettingsDep, now: NowDep, user: ApiUser):
    return overview(
        session, user, today=now.astimezone(settings.tz).date(), settings=settings, now=now
    )
