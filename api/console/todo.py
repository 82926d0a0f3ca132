"""The dashboard's to-do list: a small registry of items, each a title, a count and a link.

An item belongs to some roles and counts rows in the user's scope (core.scope). Items for
tables that other features add (leave, compliance findings) name their model; they show once
`models` has it and core.scope knows how to scope it, and are skipped silently before that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, func, select
from sqlmodel import Session

import models
from api.console import queries
from core.scope import ScopeError, condition
from models import ChannelAccount, ConsoleUser, Journal, Student
from models.tickets import OPEN_CASE


@dataclass(frozen=True, slots=True)
class TodoContext:
    today: date
    settings: object


@dataclass(frozen=True, slots=True)
class TodoItem:
    key: str
    title: str
    hint: str  # one line under the count: what it is and what to do
    roles: tuple[str, ...]
    count: Callable[[Session, ConsoleUser, TodoContext], int | None]  # None: not available
    link: Callable[[TodoContext], str]


REGISTRY: list[TodoItem] = []


def register(item: TodoItem) -> TodoItem:
    REGISTRY.append(item)
    return item


def todo_list(session: Session, user: ConsoleUser, ctx: TodoContext) -> list[dict]:
    """The user's items in registry order, each {key, title, hint, count, link}."""
    out = []
    for item in REGISTRY:
        if user.role not in item.roles:
            continue
        n = item.count(session, user, ctx)
        if n is None:
            continue
        out.append(
            {
                "key": item.key,
                "title": item.title,
                "hint": item.hint,
                "count": n,
                "link": item.link(ctx),
            }
        )
    return out


def _scalar(session: Session, stmt) -> int:
    return int(session.execute(stmt).scalar() or 0)


def count_rows(model_name: str, *, status) -> Callable:
    """A count of `model_name` rows with a status, in scope; None while the model is absent."""
    statuses = (status,) if isinstance(status, str) else tuple(status)

    def count(session: Session, user: ConsoleUser, ctx: TodoContext) -> int | None:
        model = getattr(models, model_name, None)
        if model is None:
            return None
        try:
            where = condition(user, model)
        except ScopeError:  # a table the scoping rule does not know yet: show nothing
            return None
        stmt = select(func.count()).select_from(model).where(where, model.status.in_(statuses))
        return _scalar(session, stmt)

    return count


def _absent_today(session: Session, user: ConsoleUser, ctx: TodoContext) -> int:
    stmt = queries.day_sheet(session, user, day=ctx.today, settings=ctx.settings, status="missing")
    return _scalar(session, select(func.count()).select_from(stmt.order_by(None).subquery()))


def _to_grade(session: Session, user: ConsoleUser, ctx: TodoContext) -> int:
    where = condition(user, Journal) & (Journal.status == "submitted")
    return _scalar(session, select(func.count()).select_from(Journal).where(where))


def _unbound(session: Session, user: ConsoleUser, ctx: TodoContext) -> int:
    bound = exists().where(
        ChannelAccount.person_kind == "student",
        ChannelAccount.person_id == Student.id,
        ChannelAccount.active.is_(True),
    )
    stmt = select(func.count()).select_from(Student).where(condition(user, Student), ~bound)
    return _scalar(session, stmt)


register(
    TodoItem(
        "absent",
        "今日缺勤",
        "今天应签到、至今没有签到的学生",
        ("teacher", "school"),
        _absent_today,
        lambda ctx: f"/admin/checkins?status=missing&date={ctx.today.isoformat()}",
    )
)
register(
    TodoItem(
        "journals",
        "待批阅日志",
        "学生已提交、还没有打分的日志",
        ("teacher", "school"),
        _to_grade,
        lambda ctx: "/admin/journals?status=submitted&sort=submitted&desc=0",
    )
)
register(
    TodoItem(
        "tickets",
        "未办结工单",
        "学生反馈的问题（维权），尚未标记解决",
        ("teacher", "school", "province"),
        count_rows("Ticket", status=OPEN_CASE),
        lambda ctx: "/admin/tickets?status=unresolved",
    )
)
register(
    TodoItem(
        "alerts",
        "未处理预警",
        "缺勤、失联、范围外等预警，尚未标记解决",
        ("teacher", "school", "province"),
        count_rows("Alert", status=OPEN_CASE),
        lambda ctx: "/admin/alerts?status=unresolved",
    )
)
# Leave requests (issue 13) arrive with models.Leave; its console list is wired at merge.
register(
    TodoItem(
        "leave",
        "待审批请假",
        "学生提交的请假申请，等待批准或驳回",
        ("teacher", "school"),
        count_rows("Leave", status="pending"),
        lambda ctx: "/admin/leaves?status=pending",
    )
)
register(
    TodoItem(
        "unbound",
        "未绑定学生",
        "还没有在微信或 Telegram 绑定的学生，收不到提醒",
        ("school",),
        _unbound,
        lambda ctx: "/admin/students?bound=0",
    )
)
# Compliance findings (issue 17) arrive with models.Finding and the /admin/compliance page.
register(
    TodoItem(
        "findings",
        "未解决合规问题",
        "违反实习管理规定的情况（如无协议、无保险、夜班）",
        ("school", "province", "teacher"),
        count_rows("Finding", status="open"),
        lambda ctx: "/admin/compliance?status=open",
    )
)
