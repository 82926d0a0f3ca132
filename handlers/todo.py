"""待办: what waits on a teacher, mentor or school admin bound in chat, and the word to act."""

from __future__ import annotations

from bot.types import Reply
from core.scope import chat_students
from handlers.base import Context, on_intent
from models.case_queries import TICKET_ROWS, open_counts
from models.journal_queries import waiting_journals

HEAD = ("待办：", "To do:")
NOTHING = ("目前没有待办事项。", "Nothing is waiting for you.")
# What each count is, and how to act on it: (zh, en). Mentors see journals only: tickets and
# alerts about a company's interns are not for the company to read.
LINES = {
    "journals": ("待批阅日志 {n} 篇，发送「批阅」查看", "{n} journals to grade: send /grade"),
    "tickets": ("未结工单 {n} 件，发送「处理 T编号 说明」处理", "{n} open tickets: /handle T<no>"),
    "alerts": ("未结预警 {n} 条，发送「处理 A编号 说明」处理", "{n} open alerts: /handle A<no>"),
    "leaves": ("待批请假 {n} 件，发送「请假」查看", "{n} leave requests: send /leave"),
    "makeups": ("待批补卡 {n} 件，发送「补卡」查看", "{n} make-up requests: send /makeup"),
}
SHOWN = {
    "teacher": ("journals", "tickets", "alerts", "leaves", "makeups"),
    "mentor": ("journals",),
    "school_admin": ("tickets", "alerts", "journals"),
}


@on_intent("todo", roles=tuple(SHOWN))
def todo(ctx: Context) -> list[Reply]:
    """Counts what waits on the sender among the students they oversee."""
    account = ctx.account
    where = chat_students(account.person_kind, account.person_id, account.school_id)
    counts = {"journals": waiting_journals(ctx.conn, students=where, limit=0)[0]}
    if account.person_kind != "mentor":
        ctx.write_now(TICKET_ROWS)
        counts |= open_counts(ctx.conn, students=where)
    en = ctx.lang == "en"
    lines = [LINES[name][en].format(n=counts[name]) for name in SHOWN[ctx.role] if counts.get(name)]
    if not lines:
        return [Reply(NOTHING[en])]
    return [Reply("\n".join([HEAD[en], *lines]))]
