"""Tickets (维权) and alerts: lists, one case, and its workflow (acknowledge, handle, resolve)."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from sqlmodel import select

from api.console import queries
from api.console.listing import Column, Filter, export_list, ordered, paginate
from api.console.web import (
    ConsoleUserDep,
    CsrfChecked,
    local,
    optional_int,
    redirect,
    render,
    school_options,
)
from api.deps import NowDep, RowId, SessionDep, SettingsDep
from core import tickets
from core.feed import TICKET_CATEGORIES
from models import Alert, CaseNote, School, Student, Ticket
from models.audit import record

router = APIRouter()

STATUS_NAMES = {
    "open": "待处理",
    "acknowledged": "已受理",
    "handling": "处理中",
    "resolved": "已解决",
}
UNRESOLVED_NAME = "未办结（全部）"
ALERT_KINDS = {kind: names[0] for kind, names in tickets.ALERT_KINDS.items()}
# action -> (new status, statuses it may come from, button label)
ACTIONS = {
    "acknowledge": ("acknowledged", ("open",), "受理"),
    "handle": ("handling", ("open", "acknowledged"), "开始处理"),
    "resolve": ("resolved", ("open", "acknowledged", "handling"), "标记已解决"),
    "note": (None, ("open", "acknowledged", "handling", "resolved"), "仅添加备注"),
}
NOTE_MAX = 2000
READ_ONLY = "您可以查看这条记录，但只有学生的指导教师和本校管理员可以处理。"
KINDS = {
    "tickets": dict(
        model=Ticket, case="ticket", title="维权工单", names=TICKET_CATEGORIES, field="category"
    ),
    "alerts": dict(model=Alert, case="alert", title="预警", names=ALERT_KINDS, field="kind"),
}


def columns(kind: str, tz) -> list[Column]:
    spec = KINDS[kind]
    model, names, field = spec["model"], spec["names"], spec["field"]
    row = lambda r: getattr(r, model.__name__)  # noqa: E731
    return [
        Column(
            "id",
            "编号",
            get=lambda r: row(r).id,
            sort=model.id,
            link=lambda r: f"/admin/{kind}/{row(r).id}",
        ),
        Column("student_no", "学号", sort=Student.student_no),
        Column("student_name", "姓名", sort=Student.name),
        Column("school", "学校", sort=School.name),
        Column(
            field,
            "类别",
            get=lambda r: names.get(getattr(row(r), field), getattr(row(r), field)),
            sort=getattr(model, field),
        ),
        Column(
            "severity",
            "级别",
            get=lambda r: "紧急" if row(r).severity == "urgent" else "一般",
            tag=lambda r: row(r).severity,
        ),
        Column(
            "text",
            "内容",
            get=lambda r: (getattr(row(r), "description", None) or getattr(row(r), "message", ""))[
                :60
            ],
            wide=True,
        ),
        Column(
            "status",
            "状态",
            get=lambda r: STATUS_NAMES.get(row(r).status, row(r).status),
            sort=ordered(model.status, tuple(STATUS_NAMES)),
            tag=lambda r: row(r).status,
        ),
        Column(
            "created", "时间", get=lambda r: local(row(r).created_at, tz), sort=model.created_at
        ),
    ]


def _list(kind: str, request: Request, session, settings, user, status, category, school_id, fmt):
    spec = KINDS[kind]
    if status and status not in STATUS_NAMES and status != queries.UNRESOLVED:
        raise HTTPException(400, f"未知状态：{status}")
    if category and category not in spec["names"]:
        raise HTTPException(400, f"未知类别：{category}")
    stmt = queries.cases(
        user, spec["model"], status=status, category=category, school_id=optional_int(school_id)
    )
    cols = columns(kind, settings.tz)
    if fmt:
        return export_list(session, stmt, request, cols, spec["title"])
    page = paginate(
        session,
        stmt,
        request,
        cols,
        default_sort="created",
        default_desc=True,
        page_size=settings.console.page_size,
    )
    fields = [
        Filter("status", "状态", [(queries.UNRESOLVED, UNRESOLVED_NAME), *STATUS_NAMES.items()]),
        Filter("category", "类别", list(spec["names"].items())),
        Filter("school_id", "学校", school_options(session, user)),
    ]
    return render(
        request, "list.html", user=user, title=spec["title"], page=page, columns=cols, fields=fields
    )


def _case(session, user, kind: str, case_id: int):
    row = queries.visible(session, user, KINDS[kind]["model"], case_id)
    if row is None:
        raise HTTPException(404, "没有这条记录，或您无权查看。")
    return row


def _page(request, session, user, kind, row, status_code=200, error=""):
    spec = KINDS[kind]
    notes = session.exec(
        select(CaseNote)
        .where(CaseNote.case_kind == spec["case"], CaseNote.case_id == row.id)
        .order_by(CaseNote.at)
    ).all()
    return render(
        request,
        "case.html",
        status_code,
        user=user,
        title=spec["title"],
        kind=kind,
        row=row,
        student=session.get(Student, row.student_id),
        notes=notes,
        names=spec["names"],
        field=spec["field"],
        statuses=STATUS_NAMES,
        actions=ACTIONS,
        error=error,
        can_edit=queries.writable(session, user, spec["model"], row.id),
    )


def _move(
    request, session, now, user, kind: str, case_id: int, action: str, note: str, reply: str = ""
):
    row = _case(session, user, kind, case_id)
    if not queries.writable(session, user, KINDS[kind]["model"], row.id):
        raise HTTPException(403, READ_ONLY)
    note, reply = note.strip(), reply.strip()
    if action not in ACTIONS:
        return _page(request, session, user, kind, row, 400, "未知操作。")
    new_status, allowed, _ = ACTIONS[action]
    if row.status not in allowed:
        return _page(
            request,
            session,
            user,
            kind,
            row,
            409,
            f"当前状态为“{STATUS_NAMES.get(row.status)}”，不能执行此操作。",
        )
    if len(note) > NOTE_MAX or len(reply) > NOTE_MAX or (action == "note" and not (note or reply)):
        return _page(request, session, user, kind, row, 400, "请填写备注（最多 2000 字）。")
    case_kind = KINDS[kind]["case"]
    status = new_status or row.status
    if new_status is None and not (reply and case_kind == "ticket"):  # a note tells nobody
        tickets.add_note(
            session, case_kind, row.id, actor=user.username, status=status, note=note, now=now
        )
    elif case_kind == "ticket":  # the student is told, as when a teacher uses 处理 in chat
        tickets.move_ticket(
            session,
            ticket=row,
            status=status,
            note=note,
            reply=reply,
            actor=user.username,
            now=now,
        )
    else:  # the student's teacher is told, unless the teacher made the change
        by_teacher = user.teacher_id if user.role == "teacher" else None
        tickets.move_alert(
            session,
            alert=row,
            status=new_status,
            note=note,
            actor=user.username,
            now=now,
            by_teacher=by_teacher,
        )
    record(
        session,
        actor=user.username,
        action=f"{case_kind}_{action}",
        target_kind=case_kind,
        target_id=row.id,
        school_id=row.school_id,
        status=status,
        note=note[:200],
    )
    session.commit()
    return redirect(f"/admin/{kind}/{row.id}")


def _routes(kind: str) -> None:
    """The list, the case page and the status form of tickets or alerts: same code, two kinds."""

    def case_list(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        user: ConsoleUserDep,
        status: str = "",
        category: str = "",
        school_id: str = "",
        format: str = "",
    ):
        return _list(kind, request, session, settings, user, status, category, school_id, format)

    def case_page(request: Request, case_id: RowId, session: SessionDep, user: ConsoleUserDep):
        return _page(request, session, user, kind, _case(session, user, kind, case_id))

    def case_move(
        request: Request,
        case_id: RowId,
        session: SessionDep,
        now: NowDep,
        user: ConsoleUserDep,
        action: str = Form(""),
        note: str = Form(""),
        reply: str = Form(""),
    ):
        return _move(request, session, now, user, kind, case_id, action, note, reply)

    one = kind.removesuffix("s")
    router.add_api_route(f"/admin/{kind}", case_list, methods=["GET"], name=f"{one}_list")
    router.add_api_route(
        f"/admin/{kind}/{{case_id}}", case_page, methods=["GET"], name=f"{one}_page"
    )
    router.add_api_route(
        f"/admin/{kind}/{{case_id}}/status",
        case_move,
        methods=["POST"],
        name=f"{one}_move",
        dependencies=[CsrfChecked],
    )


for _kind in KINDS:
    _routes(_kind)
