"""日报/周记/月报/总结: compose over several messages then 提交, or all in one message."""

from __future__ import annotations

from datetime import timedelta

from bot.types import Reply
from core import journals
from core import text as zh
from core.intents import KIND_WORDS, control_word, journal_kind, leading_command
from handlers.base import Context, on_intent, on_state
from models import Student

DRAFT = "journal_draft"
CHOOSE = "journal_choose"

NOT_STUDENT = (
    "写日志是学生的功能。请先用邀请码绑定：发送「绑定 邀请码」。",
    'Journals are for students. Bind first: send "bind <code>".',
)
ASK_KIND = (
    "请问要写哪一种：日报、周记、月报还是总结？直接回复其中一个词即可。",
    "Which one would you like to write: daily, weekly, monthly or summary?",
)
STARTED = (
    "好的，开始写{kind}（至少 {needed} 字）。请发送内容，可以分多条发送；"
    "写完后发送「提交」，发送「取消」放弃。",
    "OK, starting your {kind} (at least {needed} words). Send the text, in several "
    'messages if you like; send "submit" when done or "cancel" to drop it.',
)
ADDED = (
    "已记录，{kind}目前共 {count} 字，还差 {missing} 字。继续发送，或发送「取消」放弃。",
    'Saved: {count} words so far, {missing} more needed. Keep writing, or "cancel".',
)
ADDED_ENOUGH = (
    "已记录，{kind}目前共 {count} 字，已达到字数要求。可以继续补充，或发送「提交」。",
    'Saved: {count} words, long enough. Add more, or send "submit".',
)
IN_DRAFT = (
    "您正在写{kind}（已写 {count} 字）。继续发送内容，发送「提交」完成，或「取消」放弃。",
    'You are writing your {kind} ({count} words so far). Send more text, "submit" or "cancel".',
)
OTHER_DRAFT = (
    "您有一篇未提交的{kind}（已写 {count} 字）。请先发送「提交」或「取消」，再写{new}。",
    'You have an unsubmitted {kind} ({count} words). Send "submit" or "cancel" first, '
    "then start the {new}.",
)
TOO_SHORT = (
    "{kind}还差 {missing} 个字（现在 {count} 字，至少 {needed} 字）。请继续补充后再发送「提交」。",
    'Your {kind} needs {missing} more words ({count} of {needed}). Add more, then send "submit".',
)
CANCELLED = ("已取消，{kind}草稿已删除。", "Cancelled; the {kind} draft was deleted.")
NO_DRAFT = (
    "您现在没有正在写的日志。发送「日报」「周记」「月报」或「总结」开始写。",
    "You have no journal in progress. Send daily, weekly, monthly or summary to start.",
)
SUBMITTED = (
    "{kind}已提交（{label}，共 {count} 字），编号 {no}。{replaced}老师批阅后会通知您。",
    "Your {kind} is submitted ({label}, {count} words), no. {no}. {replaced}"
    "You will be told when your teacher grades it.",
)
REPLACED = ("本期之前提交的版本已被替换。", "It replaces the version you sent earlier. ")
GRADED_ALREADY = (
    "您的{kind}（{label}）已经被老师批阅（{score} 分），不能再修改。如需补充，请直接联系老师。",
    "Your {kind} ({label}) has already been graded ({score}); it can no longer "
    "be changed. Please talk to your teacher.",
)


def _say(ctx: Context, text: tuple[str, str], **values) -> str:
    return (text[1] if ctx.lang == "en" else text[0]).format(**values)


def _reply(ctx: Context, text: tuple[str, str], **values) -> list[Reply]:
    return [Reply(_say(ctx, text, **values))]


def _kind_name(ctx: Context, kind: str) -> str:
    return (journals.KIND_EN if ctx.lang == "en" else journals.KIND_ZH)[kind]


def _student(ctx: Context) -> Student | None:
    if ctx.account is None or ctx.account.person_kind != "student":
        return None
    return ctx.session.get(Student, ctx.account.person_id)


def _ttl(ctx: Context) -> timedelta:
    return timedelta(hours=ctx.settings.journal.draft_timeout_h)


def parse(text: str, explicit: bool) -> tuple[str | None, str]:
    """(kind, body) of a journal request: "周记 本周…", "/journal weekly …", "我要写周记"."""
    lead = leading_command(text)
    if lead and lead[0] == "journal":
        kind, rest = journal_kind(lead[1]), lead[2]
        if kind is None:  # a generic word ("journal"); the kind may follow it
            sub = leading_command(rest) or _leading_kind_word(rest)
            if sub and journal_kind(sub[1]):
                kind, rest = journal_kind(sub[1]), sub[2]
        return kind, rest
    sub = _leading_kind_word(text)
    if sub:
        return journal_kind(sub[1]), sub[2]
    if explicit:  # a command's arguments without a kind word: all of it is the text
        return None, text.strip()
    return journal_kind(text), ""  # free text such as "写个周记" names the kind, not the body


def _leading_kind_word(text: str) -> tuple[str, str, str] | None:
    stripped = text.strip()
    for _kind, names in KIND_WORDS:
        for name in names:
            if not name.isascii() and stripped.startswith(name):
                return "journal", name, stripped[len(name) :].lstrip(" ：:，,")
    return None


@on_intent("journal", roles=("student",))
def start(ctx: Context) -> list[Reply]:
    """Starts a draft of the named kind, or submits at once when the text is long enough."""
    kind, body = parse(ctx.text, explicit=ctx.inbound.intent == "journal")
    state = ctx.state()
    if state is not None and state.state == DRAFT:  # never lose a draft to a second start
        return _resume(ctx, dict(state.data), kind, body)
    if kind is None:
        ctx.set_state(CHOOSE, {"parts": [body] if body else []}, ttl=_ttl(ctx))
        return _reply(ctx, ASK_KIND)
    return _begin(ctx, kind, [body] if body else [])


def _resume(ctx: Context, data: dict, kind: str | None, body: str) -> list[Reply]:
    """A journal word while a draft is open: add to it, or say what is open."""
    current, parts = data["kind"], list(data.get("parts", []))
    if kind not in (None, current):
        count = zh.length("\n".join(parts))
        return _reply(
            ctx, OTHER_DRAFT, kind=_kind_name(ctx, current), count=count, new=_kind_name(ctx, kind)
        )
    if not body:
        count = zh.length("\n".join(parts))
        return _reply(ctx, IN_DRAFT, kind=_kind_name(ctx, current), count=count)
    parts.append(body)
    ctx.set_state(DRAFT, {"kind": current, "parts": parts}, ttl=_ttl(ctx))
    return _added(ctx, current, parts)


def _begin(ctx: Context, kind: str, parts: list[str]) -> list[Reply]:
    needed = journals.min_length(ctx.settings, kind)
    ctx.set_state(DRAFT, {"kind": kind, "parts": parts}, ttl=_ttl(ctx))
    if not parts:
        return _reply(ctx, STARTED, kind=_kind_name(ctx, kind), needed=needed)
    if zh.length("\n".join(parts)) >= needed:
        return _submit(ctx, {"kind": kind, "parts": parts})
    return _added(ctx, kind, parts)


@on_state(CHOOSE)
def choose(ctx: Context) -> list[Reply]:
    """Takes the kind of journal the student wants to write."""
    text = ctx.text
    data = ctx.state().data
    if control_word(text) == "cancel":
        ctx.clear_state()
        return _reply(ctx, CANCELLED, kind="")
    kind = journal_kind(text)
    if kind is None:
        ctx.set_state(CHOOSE, data, ttl=_ttl(ctx))
        return _reply(ctx, ASK_KIND)
    return _begin(ctx, kind, list(data.get("parts", [])))


@on_state(DRAFT)
def compose(ctx: Context) -> list[Reply]:
    """Adds a message to the draft; 提交 submits it and 取消 drops it."""
    text = ctx.text
    data = dict(ctx.state().data)
    kind, parts = data["kind"], list(data.get("parts", []))
    word = control_word(text)
    if word == "submit":
        return _submit(ctx, data)
    if word == "cancel":
        ctx.clear_state()
        return _reply(ctx, CANCELLED, kind=_kind_name(ctx, kind))
    lead = leading_command(text)
    if not text or (lead and not lead[2]):  # a bare command word is not journal text
        count = zh.length("\n".join(parts))
        return _reply(ctx, IN_DRAFT, kind=_kind_name(ctx, kind), count=count)
    parts.append(text)
    ctx.set_state(DRAFT, {"kind": kind, "parts": parts}, ttl=_ttl(ctx))
    return _added(ctx, kind, parts)


@on_intent("submit", roles=("student",))
def submit_command(ctx: Context) -> list[Reply]:
    """Submits the draft in progress (a /submit command or 提交 outside a dialog)."""
    state = ctx.state()
    if state is None or state.state != DRAFT:
        return _reply(ctx, NO_DRAFT)
    return _submit(ctx, dict(state.data))


def _added(ctx: Context, kind: str, parts: list[str]) -> list[Reply]:
    count = zh.length("\n".join(parts))
    missing = journals.min_length(ctx.settings, kind) - count
    name = _kind_name(ctx, kind)
    if missing > 0:
        return _reply(ctx, ADDED, kind=name, count=count, missing=missing)
    return _reply(ctx, ADDED_ENOUGH, kind=name, count=count)


def _submit(ctx: Context, data: dict) -> list[Reply]:
    student = _student(ctx)
    if student is None:
        ctx.clear_state()
        return _reply(ctx, NOT_STUDENT)
    kind = data["kind"]
    name = _kind_name(ctx, kind)
    try:
        done = journals.submit(
            ctx.session,
            settings=ctx.settings,
            student=student,
            kind=kind,
            body="\n".join(data.get("parts", [])),
            now=ctx.now,
        )
    except journals.JournalError as exc:
        if exc.code == "too_short":
            ctx.set_state(DRAFT, data, ttl=_ttl(ctx))
            return _reply(ctx, TOO_SHORT, kind=name, **exc.info)
        ctx.clear_state()
        row = exc.info["journal"]
        return _reply(ctx, GRADED_ALREADY, kind=name, label=_label(ctx, row, None), score=row.score)
    ctx.clear_state()
    row = done.journal
    journals.tell_mentor_submitted(ctx.session, done, student_name=student.name, now=ctx.now)
    return _reply(
        ctx,
        SUBMITTED,
        kind=name,
        label=_label(ctx, row, done.week_no),
        count=row.char_count,
        no=f"{journals.PREFIX}{row.id}",
        replaced=_say(ctx, REPLACED) if done.replaced else "",
    )


def _label(ctx: Context, row, week_no: int | None) -> str:
    """The period in words: 第 5 周, 3月2日, 2026年3月, 实习总结."""
    day = row.period_start
    en = ctx.lang == "en"
    if row.kind == "weekly":
        if week_no is None:
            placement = journals.placement_for(ctx.session, row.student_id, day)
            week_no = journals.week_number(day, placement)
        return f"week {week_no}" if en else f"第 {week_no} 周"
    if row.kind == "daily":
        return day.isoformat() if en else f"{day.month}月{day.day}日"
    if row.kind == "monthly":
        return day.strftime("%Y-%m") if en else f"{day.year}年{day.month}月"
    return "internship summary" if en else "实习总结"
