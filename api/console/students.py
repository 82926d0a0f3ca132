"""Students: the list (search, filters, export) and one student's timeline."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, HTTPException, Request
from sqlmodel import select

from api.console import queries
from api.console.compliance import STATUS_NAMES as FINDING_STATUS_NAMES
from api.console.leaves import STATUS_NAMES as LEAVE_STATUSES
from api.console.leaves import may_excuse
from api.console.listing import Column, Filter, export_list, paginate
from api.console.student_views import CHANNEL_NAMES, SOURCE_NAMES, fence_plot, placement_calendar
from api.console.tickets import ALERT_KINDS, STATUS_NAMES
from api.console.web import ConsoleUserDep, local, optional_int, render, school_options
from api.deps import NowDep, RowId, SessionDep, SettingsDep
from core.compliance import RULES
from core.due import DayDecision, due_on, present_clause
from core.evidence import FLAGS_ZH, describe
from core.feed import CHECKIN_KINDS, JOURNAL_KINDS, TICKET_CATEGORIES
from core.scope import can_see_coordinates
from models import (
    Alert,
    CheckIn,
    Company,
    Finding,
    Journal,
    Placement,
    School,
    SchoolClass,
    Student,
    Teacher,
    Ticket,
)
from models.attendance import due_facts
from models.audit import record
from models.leave import leaves_of_student

router = APIRouter()
TIMELINE_DAYS = 60
MAP_POINTS = 60  # the latest check-ins drawn around the fence
ATTENDANCE_DAYS = 14  # the day-by-day strip on a student's page
# A day's attendance by core.due's reason (checked-in days are 已签到 whatever the reason).
DAY_LABELS = {
    "ok": "缺勤",
    "leave": "请假",
    "unbound": "未绑定",
    "before_binding": "绑定前",
    "holiday": "节假日",
    "rest_day": "休息日",
    "none": "不在实习期",
    "not_started": "不在实习期",
    "ended": "不在实习期",
}

COLUMNS = [
    Column("student_no", "学号", sort=Student.student_no, link=lambda r: f"/admin/students/{r.id}"),
    Column("name", "姓名", sort=Student.name, link=lambda r: f"/admin/students/{r.id}"),
    Column("gender", "性别"),
    Column("school", "学校", sort=School.name),
    Column("class_name", "班级", sort=SchoolClass.name),
    Column("teacher", "指导教师"),
    Column(
        "bound",
        "绑定状态",
        get=lambda r: "已绑定" if r.bound else "未绑定",
        tag=lambda r: "bound" if r.bound else "unbound",
    ),
    Column("today", "今日", get=lambda r: queries.TODAY_STATES.get(r.today, r.today)),
    Column("checked_in", "今日已签到"),
    Column("outside", "今日范围外"),
]
BOUND_OPTIONS = [("1", "已绑定"), ("0", "未绑定")]


@router.get("/admin/students")
def student_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: ConsoleUserDep,
    q: str = "",
    school_id: str = "",
    class_name: str = "",
    status: str = "",
    bound: str = "",
    format: str = "",
):
    if bound not in ("", "0", "1"):
        raise HTTPException(400, f"未知绑定状态：{bound}")
    if status and status not in queries.STUDENT_STATUSES:
        raise HTTPException(400, f"未知状态：{status}")
    today = now.astimezone(settings.tz).date()
    stmt = queries.students(
        session,
        user,
        today=today,
        settings=settings,
        q=q,
        school_id=optional_int(school_id),
        class_name=class_name,
        status=status,
        bound=bound,
    )
    if format:
        return export_list(session, stmt, request, COLUMNS, "学生名单")
    page = paginate(
        session,
        stmt,
        request,
        COLUMNS,
        default_sort="student_no",
        page_size=settings.console.page_size,
    )
    fields = [
        Filter("q", "姓名/学号"),
        Filter("school_id", "学校", school_options(session, user)),
        Filter("class_name", "班级"),
        Filter("status", "今日状态", list(queries.STUDENT_STATUSES.items())),
        Filter("bound", "绑定状态", BOUND_OPTIONS),
    ]
    return render(
        request, "list.html", user=user, title="学生", page=page, columns=COLUMNS, fields=fields
    )


@router.get("/admin/students/{student_id}")
def student_page(
    request: Request,
    student_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: ConsoleUserDep,
):
    student = queries.visible(session, user, Student, student_id)
    if student is None:
        raise HTTPException(404, "没有这名学生，或您无权查看。")
    school = session.get(School, student.school_id)
    klass = session.get(SchoolClass, student.class_id) if student.class_id else None
    teacher = session.get(Teacher, student.teacher_id) if student.teacher_id else None
    placements = session.execute(
        select(Placement, Company.name)
        .join(Company, Company.id == Placement.company_id)
        .where(Placement.student_id == student.id)
        .order_by(Placement.start_date.desc())
    ).all()
    checkins = session.exec(
        select(CheckIn)
        .where(CheckIn.student_id == student.id)
        .order_by(CheckIn.at.desc())
        .limit(TIMELINE_DAYS * 2)
    ).all()
    journals = session.exec(
        select(Journal)
        .where(Journal.student_id == student.id)
        .order_by(Journal.submitted_at.desc())
        .limit(50)
    ).all()
    tickets = session.exec(
        select(Ticket).where(Ticket.student_id == student.id).order_by(Ticket.created_at.desc())
    ).all()
    alerts = session.exec(
        select(Alert).where(Alert.student_id == student.id).order_by(Alert.created_at.desc())
    ).all()
    findings = session.exec(
        select(Finding)
        .where(Finding.student_id == student.id)
        .order_by(Finding.status != "open", Finding.first_seen.desc())
    ).all()
    today = now.astimezone(settings.tz).date()
    calendar = plot = None
    if placements:
        current = placements[0][0]
        days = session.exec(
            select(CheckIn.day)
            .where(
                CheckIn.student_id == student.id,
                CheckIn.placement_id == current.id,
                present_clause(),
            )
            .distinct()
        ).all()
        facts = due_facts(
            session,
            student_ids=[student.id],
            first=current.start_date,
            last=min(current.end_date, today),
        )[student.id]
        calendar = placement_calendar(current, facts, set(days), today, settings)
        if can_see_coordinates(user):
            recent = [c for c in checkins if c.placement_id == current.id][:MAP_POINTS]
            plot = fence_plot(current, recent)
    # One person's whole record (coordinates too): who looked at it is kept.
    record(
        session,
        actor=user.username,
        action="student.view",
        target_kind="student",
        target_id=student.id,
        school_id=student.school_id,
    )
    session.commit()
    return render(
        request,
        "student.html",
        user=user,
        title=student.name,
        student=student,
        school=school,
        klass=klass,
        teacher=teacher,
        placements=placements,
        checkins=checkins,
        journals=journals,
        tickets=tickets,
        alerts=alerts,
        findings=findings,
        RULES=RULES,
        FINDING_STATUSES=FINDING_STATUS_NAMES,
        attendance=attendance(session, student.id, today, settings),
        leaves=leaves_of_student(session, student_id=student.id),
        leave_statuses=LEAVE_STATUSES,
        can_excuse=may_excuse(session, user, student),
        today=today,
        show_coords=can_see_coordinates(user),
        calendar=calendar,
        plot=plot,
        CHANNEL_NAMES=CHANNEL_NAMES,
        SOURCE_NAMES=SOURCE_NAMES,
        describe_evidence=describe,
        flag_names=FLAGS_ZH,
        CASE_STATUSES=STATUS_NAMES,
        ALERT_KINDS=ALERT_KINDS,
        CHECKIN_KINDS=CHECKIN_KINDS,
        JOURNAL_KINDS=JOURNAL_KINDS,
        TICKET_CATEGORIES=TICKET_CATEGORIES,
        local=local,
    )


def day_label(decision: DayDecision, checked: bool, day: date, today: date) -> str:
    """How the console shows one day of a student's attendance."""
    if checked:
        return "已签到" if decision.works else f"已签到（{DAY_LABELS[decision.reason]}）"
    if decision.ok and day >= today:
        return "待签到"
    return DAY_LABELS[decision.reason]


def attendance(session, student_id: int, today: date, settings) -> list[tuple[date, str]]:
    """The last ATTENDANCE_DAYS days, newest first, each with its state (core.due)."""
    first = today - timedelta(days=ATTENDANCE_DAYS - 1)
    facts = due_facts(session, student_ids=[student_id], first=first, last=today)[student_id]
    checked = set(
        session.exec(
            select(CheckIn.day)
            .where(
                CheckIn.student_id == student_id,
                CheckIn.day >= first,
                CheckIn.day <= today,
                present_clause(),
            )
            .distinct()
        ).all()
    )
    days = [today - timedelta(days=i) for i in range(ATTENDANCE_DAYS)]
    return [(d, day_label(due_on(facts, d, settings), d in checked, d, today)) for d in days]
