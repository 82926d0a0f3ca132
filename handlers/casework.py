"""Teachers in chat: 批阅 grades a journal; 处理 / 结案 move a ticket or an alert on.

Grammar (numbers with or without their prefix; a bare number after 处理 is a ticket):
    批阅                         the journals waiting (handlers.review)
    批阅 J12                     journal 12 in full
    批阅 J12 90 写得很好          grade journal 12: score 0-100, then the comment
    处理 T7 已联系企业            ticket 7 -> handling; the note stays on the ticket, the student
                                  hears only the new status
    处理 T7 已联系企业 | 回复：本周内补发   ...and the student reads 本周内补发
    处理 T7 已解决，工资已补发     a note saying 已解决/解决了 closes it (resolved)
    结案 T7 说明                  ticket 7 -> resolved
    处理 A3 说明 / 结案 A3 说明    the same for alert 3
English: grade J12 90 good work · handle T7 note · resolve T7 note.
"""

from __future__ import annotations

import re

from bot.types import Reply
from core import journals, tickets
from core.intents import leading_command
from core.journals import parse_number
from handlers import review
from handlers.base import Context, on_intent
from models import Alert, Journal, Student, Ticket
from models.case_queries import TICKET_ROWS

# A note that says the problem is solved closes the case.
RESOLVE_WORDS = re.compile(
    r"已解决|解决了|已处理完|处理完毕|已结案|已办结|\bresolved\b|\bsolved\b", re.I
)
RESOLVE_COMMANDS = {"结案", "resolve", "close"}

NOT_TEACHER = ("批阅和处理是指导教师的功能。", "Grading and handling are for teachers.")
GRADE_USAGE = (
    "请按格式发送：批阅 日志编号 分数 评语，例如「批阅 J12 90 写得很具体」。分数为 0–100。",
    'Please send: grade <journal no> <score 0-100> <comment>, e.g. "grade J12 90 well done".',
)
HANDLE_USAGE = (
    "请按格式发送：处理 编号 说明，例如「处理 T12 已联系企业」；"
    "说明里写「已解决」或发送「结案 T12 说明」即结案。预警编号以 A 开头。",
    'Please send: handle <no> <note>, e.g. "handle T12 called the company"; '
    '"resolve T12 <note>" closes it. Alert numbers start with A.',
)
NOT_FOUND = ("没有找到{what} {no}，或不是您负责的学生。", "No {what} {no} among your students.")
GRADED = (
    "已批阅 {no}（{name}的{kind}）：{score} 分。已通知学生。",
    "Graded {no} ({name}, {kind}): {score}. The student has been told.",
)
REGRADED = (
    "已更新 {no}（{name}的{kind}）的评分：{score} 分。已通知学生。",
    "Updated the grade of {no} ({name}, {kind}): {score}. The student has been told.",
)
MOVED = ("{what} {no} 已更新为「{status}」。{told}", "{what} {no} is now {status}. {told}")
NOTED = (
    "已为{what} {no} 添加说明（仍为「{status}」）。{told}",
    "Note added to {what} {no} (still {status}). {told}",
)
TOLD = (
    "已通知学生新的状态；说明只留在工单里。",
    "The student has been told the new status; the note stays on the ticket.",
)
TOLD_REPLY = (
    "已通知学生新的状态和您的回复。",
    "The student has been told the new status and your reply.",
)
CLOSED = ("{no} 已经结案，无需再处理。", "{no} is already resolved.")
WHAT = {"ticket": ("工单", "ticket"), "alert": ("预警", "alert"), "journal": ("日志", "journal")}
# What 处理 can move: the table and the number prefix of each.
CASES = {"ticket": (Ticket, tickets.TICKET_PREFIX), "alert": (Alert, tickets.ALERT_PREFIX)}


def _pick(ctx: Context, text: tuple[str, str]) -> str:
    return text[1] if ctx.lang == "en" else text[0]


def _reply(ctx: Context, text: tuple[str, str], **values) -> list[Reply]:
    return [Reply(_pick(ctx, text).format(**values))]


def _args(ctx: Context) -> tuple[str, list[str]]:
    """(command word, argument words) whether the text kept its command word or not."""
    text = ctx.text
    lead = leading_command(text)
    if lead and lead[0] in ("grade", "handle"):
        return lead[1].lower(), lead[2].split(maxsplit=2)
    return "", text.split(maxsplit=2)


_may_see = review.may_see


@on_intent("grade", roles=("teacher", "mentor", "school_admin"), refusal=NOT_TEACHER)
def grade(ctx: Context) -> list[Reply]:
    """Grades a journal with a score and a comment and tells the student; without a score it
    shows the journal, without a number the journals waiting."""
    _, words = _args(ctx)
    if not words:
        return review.waiting(ctx)
    number = parse_number(words[0], journals.PREFIX)
    score_text = words[1].removesuffix("分") if len(words) > 1 else ""
    if number is None or (len(words) > 1 and not _score(score_text)):
        return _reply(ctx, GRADE_USAGE)
    no = f"{journals.PREFIX}{number}"
    journal = ctx.session.get(Journal, number)
    student = ctx.session.get(Student, journal.student_id) if journal else None
    if journal is None or not _may_see(ctx, journal.school_id, student):
        return _reply(ctx, NOT_FOUND, what=_pick(ctx, WHAT["journal"]), no=no)
    if len(words) == 1:
        return review.show(ctx, journal, student)
    comment = words[2].strip() if len(words) > 2 else ""
    grader = f"{ctx.account.person_kind}:{ctx.account.person_id}"
    regraded = journals.grade(
        journal, score=int(score_text), comment=comment, grader=grader, now=ctx.now
    )
    ctx.session.add(journal)
    ctx.session.flush()
    journals.tell_student_graded(ctx.session, journal, now=ctx.now)
    kind = (journals.KIND_EN if ctx.lang == "en" else journals.KIND_ZH)[journal.kind]
    return _reply(
        ctx,
        REGRADED if regraded else GRADED,
        no=no,
        name=student.name,
        kind=kind,
        score=journal.score,
    )


def _score(text: str) -> bool:
    return text.isdigit() and 0 <= int(text) <= 100


@on_intent("handle", roles=("teacher", "school_admin"), refusal=NOT_TEACHER)
def handle(ctx: Context) -> list[Reply]:
    """Moves a ticket or alert to handling (or resolved) with a note; the student is told."""
    command, words = _args(ctx)
    if not words:
        return _reply(ctx, HANDLE_USAGE)
    note, reply = tickets.split_reply(" ".join(words[1:]))
    resolve = command in RESOLVE_COMMANDS or bool(RESOLVE_WORDS.search(f"{note} {reply}"))
    status = "resolved" if resolve else "handling"
    token = words[0].strip().upper()
    what = "alert" if token.startswith(tickets.ALERT_PREFIX) else "ticket"
    return _move_case(ctx, what, token, status, note, reply)


def _move_case(
    ctx: Context, what: str, token: str, status: str, note: str, reply: str
) -> list[Reply]:
    """Finds ticket or alert `token` among the sender's students and moves it on."""
    model, prefix = CASES[what]
    number = parse_number(token, prefix)
    if number is None:
        return _reply(ctx, HANDLE_USAGE)
    no = f"{prefix}{number}"
    ctx.write_now(TICKET_ROWS)
    case = ctx.session.get(model, number)
    student = ctx.session.get(Student, case.student_id) if case else None
    if case is None or not _may_see(ctx, case.school_id, student):
        return _reply(ctx, NOT_FOUND, what=_pick(ctx, WHAT[what]), no=no)
    if case.status == "resolved":
        return _reply(ctx, CLOSED, no=no)
    step = dict(status=status, note=note, actor=_actor(ctx), now=ctx.now)
    if what == "ticket":
        changed = tickets.move_ticket(ctx.session, ticket=case, reply=reply, **step)
    else:  # the teacher hears of alerts others move; not of their own moves
        by_teacher = ctx.account.person_id if ctx.role == "teacher" else None
        step["note"] = f"{note} {reply}".strip()
        changed = tickets.move_alert(ctx.session, alert=case, by_teacher=by_teacher, **step)
    return _moved(ctx, what, no, status, changed, told=what == "ticket", replied=bool(reply))


def _moved(
    ctx, what: str, no: str, status: str, changed: bool, *, told: bool, replied: bool = False
) -> list[Reply]:
    names = tickets.STATUS_EN if ctx.lang == "en" else tickets.STATUS_ZH
    return _reply(
        ctx,
        MOVED if changed else NOTED,
        what=_pick(ctx, WHAT[what]),
        no=no,
        status=names[status],
        told=_pick(ctx, TOLD_REPLY if replied else TOLD) if told else "",
    )


def _actor(ctx: Context) -> str:
    return f"{ctx.account.person_kind}:{ctx.account.person_id}"
