"""Students: the list (search, filters, export) and one student's timeline."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlmodel import select

from api.console import queries
from api.console.listing import Column, Filter, export_list, paginate
from api.console.web import ConsoleUserDep, local, optional_int, render, school_options
from api.deps import NowDep, SessionDep, SettingsDep
from core.feed import CHECKIN_KINDS, JOURNAL_KINDS, TICKET_CATEGORIES
from core.scope import can_see_coordinates
from models import (
    Alert,
    CheckIn,
    Company,
    Journal,
    Placement,
    School,
    SchoolClass,
    Student,
    Teacher,
    Ticket,
)

router = APIRouter()
TIMELINE_DAYS = 60

COLUMNS = [
    Column("student_no", "学号", sort=Student.student_no, link=lambda r: f"/admin/students/{r.id}"),
    Column("name", "姓名", sort=Student.name, link=lambda r: f"/admin/students/{r.id}"),
    Column("gender", "性别"),
    Column("school", "学校", sort=School.name),
    Column("class_name", "班级", sort=SchoolClass.name),
    Column("teacher", "指导教师"),
    Column("checked_in", "今日已签到"),
    Column("outside", "今日范围外"),
]


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
    format: str = "",
):
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
    ]
    return render(
        request, "list.html", user=user, title="学生", page=page, columns=COLUMNS, fields=fields
    )


@router.get("/admin/students/{student_id}")
def student_page(
    request: Request,
    student_id: int,
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
        show_coords=can_see_coordinates(user),
        CHECKIN_KINDS=CHECKIN_KINDS,
        JOURNAL_KINDS=JOURNAL_KINDS,
        TICKET_CATEGORIES=TICKET_CATEGORIES,
        local=local,
    )
