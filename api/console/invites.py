"""Invite codes for a class: issue codes for its unbound students, their parents and teachers;
a printable sheet (with the account's name and a QR code per code) and a CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import case, exists, func, literal_column
from sqlmodel import Session, select

from api.console.exports import FORMATS, export_response
from api.console.invite_qr import qr_codes
from api.console.listing import Column, Filter, audit_export, paginate
from api.console.queries import like, visible, writable
from api.console.web import (
    ConsoleUserDep,
    CsrfChecked,
    local,
    optional_int,
    redirect,
    render,
    school_options,
)
from api.deps import MAX_ID, NowDep, RowId, SessionDep, SettingsDep
from core.due import reachable_clause
from core.invites import issue_invite
from core.scope import changes_anything, condition
from models import (
    ChannelAccount,
    Guardianship,
    InviteCode,
    Parent,
    School,
    SchoolClass,
    Student,
    Teacher,
)
from models.audit import record

router = APIRouter()

NO_CLASS = "没有这个班级，或您无权管理。"
WECHAT_HINT = "微信：扫描二维码关注「{account}」即可绑定；也可关注后发送“绑定 邀请码”。"
WECHAT_HINT_NO_QR = "微信：关注「{account}」，发送“绑定 邀请码”完成绑定。"
TELEGRAM_HINT = "Telegram：打开机器人 @{bot}，发送 /start 邀请码。"
TELEGRAM_HINT_NO_NAME = "Telegram：打开学校的机器人，发送 /start 邀请码。"
NO_CHANNEL = "学校尚未开通微信或 Telegram，请向学校管理员询问绑定方式。"
SCHOOL_ACCOUNT = "学校公众号"
STUDENTS, PARENTS, TEACHERS = "学生", "家长", "指导教师"
UNBOUND_OPTIONS = [("1", "有未绑定学生")]
# Binding codes are credentials: whoever reads one can bind as that student.
READ_ONLY = "邀请码只能由本校管理员或指导教师生成和查看。"


def bind_hints(settings, with_qr: bool) -> list[str]:
    """What a reader does with the code: the WeChat account when it is on (Telegram cannot be
    reached from the mainland, so a sheet for WeChat users names no Telegram bot), else the
    Telegram bot."""
    lines = []
    if settings.wechat.enabled:
        account = settings.wechat.account_name or SCHOOL_ACCOUNT
        lines.append((WECHAT_HINT if with_qr else WECHAT_HINT_NO_QR).format(account=account))
    elif settings.telegram.enabled:
        bot = settings.telegram.bot_username.lstrip("@")
        lines.append(TELEGRAM_HINT.format(bot=bot) if bot else TELEGRAM_HINT_NO_NAME)
    return lines or [NO_CHANNEL]


def _bound():
    return reachable_clause(Student.id)  # has an active chat account (else 未绑定)


def _valid_code(now):
    return exists().where(
        InviteCode.person_kind == "student",
        InviteCode.person_id == Student.id,
        InviteCode.used_at.is_(None),
        InviteCode.expires_at > now,
    )


def _class(session, user, class_id: int) -> SchoolClass:
    """A class whose codes the user may issue and read: 404 unseen, 403 read-only."""
    klass = visible(session, user, SchoolClass, class_id)
    if klass is None:
        raise HTTPException(404, NO_CLASS)
    if not writable(session, user, SchoolClass, klass.id):
        raise HTTPException(403, READ_ONLY)
    return klass


def _columns() -> list[Column]:
    return [
        Column("school", "学校", sort=School.name),
        Column("class_name", "班级", sort=SchoolClass.name),
        Column("total", "学生数", sort=literal_column("total")),
        Column("bound", "已绑定", sort=literal_column("bound")),
        Column("unbound", "未绑定", sort=literal_column("unbound")),
    ]


@router.get("/admin/invites")
def invite_classes(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ConsoleUserDep,
    school_id: str = "",
    q: str = "",
    unbound: str = "",
):
    bound = func.sum(case((_bound(), 1), else_=0))
    stmt = (
        select(
            SchoolClass.id,
            SchoolClass.name.label("class_name"),
            School.name.label("school"),
            func.count(Student.id).label("total"),
            bound.label("bound"),
            (func.count(Student.id) - bound).label("unbound"),
            SchoolClass.school_id,
        )
        .join(School, School.id == SchoolClass.school_id)
        .join(Student, Student.class_id == SchoolClass.id)
        .where(condition(user, SchoolClass), condition(user, Student))
        .group_by(SchoolClass.id, SchoolClass.name, School.name, SchoolClass.school_id)
    )
    if optional_int(school_id):
        stmt = stmt.where(SchoolClass.school_id == optional_int(school_id))
    if q.strip():
        stmt = stmt.where(SchoolClass.name.like(like(q.strip()), escape="\\"))
    if unbound == "1":
        stmt = stmt.having(func.count(Student.id) > bound)
    cols = _columns()
    page = paginate(
        session, stmt, request, cols, default_sort="school", page_size=settings.console.page_size
    )
    fields = [
        Filter("school_id", "学校", school_options(session, user)),
        Filter("q", "班级名称"),
        Filter("unbound", "绑定情况", UNBOUND_OPTIONS),
    ]
    return render(
        request,
        "invites.html",
        user=user,
        title="邀请码",
        page=page,
        columns=cols,
        fields=fields,
        can_edit=changes_anything(user),
    )


@router.post("/admin/invites", dependencies=[CsrfChecked])
def issue_for_class(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: ConsoleUserDep,
    class_id: Annotated[int, Form(ge=1, le=MAX_ID)],
):
    klass = _class(session, user, class_id)
    students = session.exec(
        select(Student).where(
            Student.class_id == klass.id, condition(user, Student), ~_bound(), ~_valid_code(now)
        )
    ).all()
    people = [("student", s.id) for s in students] + _waiting_people(session, user, klass, now)
    for kind, person_id in people:
        issue_invite(
            session,
            person_kind=kind,
            person_id=person_id,
            school_id=klass.school_id,
            now=now,
            ttl_days=settings.invite.ttl_days,
        )
    record(
        session,
        actor=user.username,
        action="invites.issue",
        target_kind="class",
        target_id=klass.id,
        school_id=klass.school_id,
        issued=len(people),
    )
    session.commit()
    return redirect(f"/admin/invites/{klass.id}")


def _class_people(session, user, klass):
    """The class's students' parents and teachers, as (kind, select of their ids)."""
    students = select(Student.id).where(Student.class_id == klass.id, condition(user, Student))
    parents = select(Guardianship.parent_id).where(Guardianship.student_id.in_(students))
    teachers = select(Student.teacher_id).where(
        Student.class_id == klass.id, condition(user, Student), Student.teacher_id.is_not(None)
    )
    return (("parent", parents), ("teacher", teachers))


def _waiting_people(session, user, klass, now) -> list[tuple[str, int]]:
    """Parents and teachers of the class with no chat binding and no valid code yet."""
    out = []
    for kind, ids in _class_people(session, user, klass):
        column = ids.selected_columns[0]
        valid = select(InviteCode.person_id).where(
            InviteCode.person_kind == kind,
            InviteCode.used_at.is_(None),
            InviteCode.expires_at > now,
        )
        active = select(ChannelAccount.person_id).where(
            ChannelAccount.person_kind == kind, ChannelAccount.active.is_(True)
        )
        found = session.exec(
            ids.where(column.not_in(valid), column.not_in(active)).distinct()
        ).all()
        out += [(kind, person_id) for person_id in sorted(found)]
    return out


def _other_rows(session, user, klass, now) -> list[tuple[str, str, str, str, object]]:
    """(section, who, phone, code, expires) for the class's parents and teachers with a valid
    code, the newest code per person."""
    (_, parents), (_, teachers) = _class_people(session, user, klass)
    kids = (
        select(Guardianship.parent_id, func.min(Student.name).label("child"))
        .join(Student, Student.id == Guardianship.student_id)
        .where(Student.class_id == klass.id, condition(user, Student))
        .group_by(Guardianship.parent_id)
        .subquery()
    )
    valid = (InviteCode.used_at.is_(None)) & (InviteCode.expires_at > now)
    rows = session.execute(
        select(Parent.id, Parent.name, kids.c.child, InviteCode.code, InviteCode.expires_at)
        .join(kids, kids.c.parent_id == Parent.id)
        .join(
            InviteCode, (InviteCode.person_kind == "parent") & (InviteCode.person_id == Parent.id)
        )
        .where(Parent.id.in_(parents), valid)
        .order_by(kids.c.child, Parent.id, InviteCode.created_at.desc())
    ).all()
    latest: dict[tuple, tuple] = {}
    for pid, name, child, code, expires in rows:
        latest.setdefault(("parent", pid), (PARENTS, f"{child} 的家长 {name}", "", code, expires))
    rows = session.execute(
        select(Teacher.id, Teacher.name, InviteCode.code, InviteCode.expires_at)
        .join(
            InviteCode, (InviteCode.person_kind == "teacher") & (InviteCode.person_id == Teacher.id)
        )
        .where(Teacher.id.in_(teachers), valid)
        .order_by(Teacher.id, InviteCode.created_at.desc())
    ).all()
    for tid, name, code, expires in rows:
        latest.setdefault(("teacher", tid), (TEACHERS, f"指导教师 {name}", "", code, expires))
    return list(latest.values())


def _sheet_rows(session, user, klass, now):
    rows = session.execute(
        select(Student.student_no, Student.name, InviteCode.code, InviteCode.expires_at)
        .join(
            InviteCode, (InviteCode.person_id == Student.id) & (InviteCode.person_kind == "student")
        )
        .where(
            Student.class_id == klass.id,
            condition(user, Student),
            InviteCode.used_at.is_(None),
            InviteCode.expires_at > now,
            ~_bound(),
        )
        .order_by(Student.student_no, InviteCode.created_at.desc())
    ).all()
    latest = {}
    for no, name, code, expires in rows:
        latest.setdefault(no, (no, name, code, expires))  # newest code per student
    return list(latest.values())


@router.get("/admin/invites/{class_id}")
async def invite_sheet(
    request: Request,
    class_id: RowId,
    settings: SettingsDep,
    now: NowDep,
    user: ConsoleUserDep,
    format: str = "",
):
    engine = request.app.state.engine

    def read():
        with Session(engine, expire_on_commit=False) as session:
            klass = _class(session, user, class_id)
            return (
                klass,
                _sheet_rows(session, user, klass, now),
                _other_rows(session, user, klass, now),
            )

    klass, codes, others = await run_in_threadpool(read)
    if format:
        if format not in FORMATS:
            raise HTTPException(400, f"导出格式只能是 {' / '.join(FORMATS)}")
        # Students first, then their parents and teachers, each with the role the code binds.
        table = [
            (no, name, klass.name, code, local(exp, settings.tz), STUDENTS)
            for no, name, code, exp in codes
        ] + [
            ("", who, klass.name, code, local(exp, settings.tz), role)
            for role, who, _phone, code, exp in others
        ]
        response = export_response(
            f"邀请码_{klass.name}",
            ["student_no", "name", "class", "code", "expires_at", "role"],
            table,
            format,
        )

        def audit():
            with Session(engine) as session:
                name = f"邀请码_{klass.name}"
                audit_export(session, request, name=name, fmt=format, rows=len(table))

        await run_in_threadpool(audit)
        return response
    every = [(c, exp) for _, _, c, exp in codes] + [(c, exp) for *_, c, exp in others]
    qr, qr_error = await qr_codes(settings, engine, every, now)
    return render(
        request,
        "invite_sheet.html",
        user=user,
        title=f"{klass.name} 邀请码",
        klass=klass,
        codes=codes,
        sections=[(name, [r for r in others if r[0] == name]) for name in (PARENTS, TEACHERS)],
        qr=qr,
        qr_error=qr_error,
        hints=bind_hints(settings, with_qr=bool(qr)),
        tz=settings.tz,
    )
