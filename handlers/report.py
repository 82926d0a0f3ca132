"""维权/反馈/求助: a description becomes a ticket at once; the word alone asks for it first."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.types import Reply
from core import text as zh
from core import tickets
from core.classify import category_name, classify
from core.intents import control_word, leading_command
from handlers.base import Context, on_intent, on_state
from models import Student

DESCRIBE = "report_describe"
# Someone who started a report and wandered off should not find it waiting the next day.
DESCRIBE_TTL = timedelta(hours=6)
# A description shorter than this (after the trigger words) is asked for again...
MIN_DESCRIPTION = 4  # ...unless the classifier already recognises the problem.

# "我要投诉" says that there is a problem, not what it is.
TRIGGERS = re.compile(
    r"^(?:我|我们)?(?:要|想|需要)?(?:投诉|维权|反馈|求助|举报|反映(?:一下|一个)?(?:问题|情况)?"
    r"|帮帮我|帮忙)[一下]*[：:，,。!！\s]*"
    r"|^(?:i\s+(?:want|need|would like)\s+to\s+)?(?:complain|report(?: a problem)?|"
    r"complaint|get help)[:,.!\s]*",
    re.I,
)

NOT_STUDENT = (
    "维权反馈是学生的功能。请先用邀请码绑定：发送「绑定 邀请码」。",
    'Reports are for students. Bind first: send "bind <code>".',
)
ASK = (
    "请描述遇到的问题：发生了什么、在哪里、什么时候、涉及谁。您的反馈只有指导教师和学校能看到。"
    "发送「取消」放弃。",
    "Please describe the problem: what happened, where, when and who was involved. Only your "
    'teacher and school will see it. Send "cancel" to stop.',
)
CANCELLED = ("已取消，没有提交反馈。", "Cancelled; nothing was reported.")
RECEIPT = (
    "已收到您的反馈，工单编号 {no}（类别：{category}）。指导教师会尽快跟进，"
    "处理进展会在这里通知您。",
    "We received your report: ticket {no} (category: {category}). Your teacher will "
    "follow it up, and you will be told of every step here.",
)
URGENT = (
    "这是紧急情况，已立即通知您的指导教师和学校。"
    "如有人身危险，请先拨打 110（报警）或 120（急救）。",
    "This is urgent: your teacher and school have been alerted now. If you are in danger, "
    "call 110 (police) or 120 (ambulance) first.",
)


def _reply(ctx: Context, *texts: tuple[str, str], **values) -> list[Reply]:
    pick = 1 if ctx.lang == "en" else 0
    return [Reply("\n".join(t[pick] for t in texts).format(**values))]


def _student(ctx: Context) -> Student | None:
    if ctx.account is None or ctx.account.person_kind != "student":
        return None
    return ctx.session.get(Student, ctx.account.person_id)


def description_of(text: str) -> str:
    """The complaint in a message: after 维权/反馈/求助 (or /report), without "我要投诉"."""
    lead = leading_command(text)
    body = lead[2] if lead and lead[0] == "report" else text.strip()
    return TRIGGERS.sub("", body, count=1).strip()


def is_description(text: str) -> bool:
    return zh.length(text) >= MIN_DESCRIPTION or classify(text).category != "other"


@on_intent("report")
def start(ctx: Context) -> list[Reply]:
    """Opens a ticket from the description, or asks for one."""
    if _student(ctx) is None:
        return _reply(ctx, NOT_STUDENT)
    text = ctx.inbound.get_plaintext()
    if is_description(description_of(text)):
        return _open(ctx, _full_text(text))
    ctx.set_state(DESCRIBE, {}, ttl=DESCRIBE_TTL)
    return _reply(ctx, ASK)


@on_state(DESCRIBE)
def describe(ctx: Context) -> list[Reply]:
    """Takes the description and opens the ticket."""
    text = ctx.inbound.get_plaintext()
    if control_word(text) == "cancel":
        ctx.clear_state()
        return _reply(ctx, CANCELLED)
    if not is_description(description_of(text)):
        ctx.set_state(DESCRIBE, {}, ttl=DESCRIBE_TTL)
        return _reply(ctx, ASK)
    ctx.clear_state()
    return _open(ctx, text)


def _full_text(text: str) -> str:
    """What is stored: the message without the leading command word."""
    lead = leading_command(text)
    return lead[2] if lead and lead[0] == "report" and lead[2] else text.strip()


def _open(ctx: Context, description: str) -> list[Reply]:
    student = _student(ctx)
    if student is None:
        return _reply(ctx, NOT_STUDENT)
    opened = tickets.open_ticket(
        ctx.session, settings=ctx.settings, student=student, description=description, now=ctx.now
    )
    values = dict(
        no=tickets.ticket_no(opened.ticket.id),
        category=category_name(opened.ticket.category, ctx.lang),
    )
    if opened.classification.urgent:
        return _reply(ctx, RECEIPT, URGENT, **values)
    return _reply(ctx, RECEIPT, **values)
