"""Routing one message to its handler: binding first, then locations, dialogs, words, free text.

`dispatch(ctx)` is a pure function of the message and what the pipeline read for it; it runs
inside the message's transaction (bot/pipeline.py). A command word acts only for the roles its
handler declares (handlers.base.on_intent): for anyone else the message is read as free text,
so "处理不了，老板一直骂我" from a student is a report and "孩子今天签到了吗" from a parent a
status question.
"""

from __future__ import annotations

from types import SimpleNamespace

import handlers  # noqa: F401  (importing the package registers every handler)
from bot.types import Reply
from core.geo import valid_point
from core.intents import control_word, detect, free_text_intent, leading_command
from core.invites import ALPHABET, CODE_LENGTH, normalise_code
from handlers.base import DIALOGS, HANDLERS, Context, match_words
from handlers.bind import HOW_TO_BIND
from handlers.texts import role_name
from models.accounts import deactivate_account
from models.checkins import record_location_sample

# Intents an unbound sender may use.
OPEN_INTENTS = ("bind",)
# Free text that names another role's intent, read for this role: (intent, role) -> intent.
READ_AS = {
    ("checkin", "parent"): "status",  # 孩子今天签到了吗
    ("today", "parent"): "status",
    ("checkin", "teacher"): "today",  # 今天谁签到了
    ("checkin", "mentor"): "today",
    ("status", "mentor"): "today",
}
# A student's sentence that opens with one of these and names nothing else is a daily journal
# ("今日完成了零件装配").
JOURNAL_OPENERS = ("今日", "今天")
NOT_FOR_ROLE = (
    "抱歉，这个功能只对{roles}开放，您目前绑定的身份是{role}。发送「帮助」查看您可以做的事。",
    "Sorry, that is only for {roles}; you are linked as a {role}. Send /help to see what you "
    "can do.",
)
# Events that need no answer and have no effect of their own (a location message follows a
# location_select; template and mass-send receipts).
SILENT_EVENTS = {"location_select", "view", "templatesendjobfinish", "masssendjobfinish"}


def dispatch(ctx: Context) -> list[Reply]:
    """Route one message; returns the replies for its sender (maybe none)."""
    inbound = ctx.inbound
    event = inbound.event.lower()
    if event in SILENT_EVENTS:
        return []
    if event == "unsubscribe":  # an unfollowed account can no longer be reached
        if ctx.account is not None:
            deactivate_account(ctx.conn, account_id=ctx.account.id)
            ctx.rebind(None)
        return []
    loc = inbound.location
    passive = _passive(inbound)
    if ctx.account is None:
        return [] if passive else _unbound(ctx)
    if loc is not None and loc.source in ("event", "live") and _is_evidence(ctx):
        record_location_sample(ctx.conn, account=ctx.account, inbound=inbound, at=ctx.now)
        if ctx.facts is not None:  # a check-in later in the batch compares it
            ctx.facts.sampled(
                SimpleNamespace(
                    at=ctx.now, lat=loc.lat, lng=loc.lng, datum=loc.datum, source=loc.source
                )
            )
    if passive:  # a WeChat LOCATION event is evidence, never answered
        return []
    intent, args = _route(ctx)
    ctx.intent, ctx.args = intent, args
    if intent is not None and intent.startswith("state:"):
        return DIALOGS[intent.removeprefix("state:")](ctx)
    return _run(ctx, intent)


def _is_evidence(ctx: Context) -> bool:
    """Only students' whereabouts are evidence; nobody else's location is kept."""
    loc = ctx.inbound.location
    return ctx.role == "student" and valid_point(loc.lat, loc.lng)


def _passive(inbound) -> bool:
    """A WeChat LOCATION event (or a location sent as an event): evidence, never answered."""
    loc = inbound.location
    return loc is not None and (loc.source == "event" or inbound.kind == "event")


def _unbound(ctx: Context) -> list[Reply]:
    """Unbound senders can only bind; everything else explains how."""
    intent, args = _unbound_intent(ctx.inbound, ctx.args)
    if intent is not None:
        ctx.intent, ctx.args = intent, args
        return HANDLERS[intent].handler(ctx)
    return ctx.reply(HOW_TO_BIND)


def _unbound_intent(inbound, text: str) -> tuple[str | None, str]:
    """What an unbound sender's message asks for, of OPEN_INTENTS (None: anything else)."""
    intent, args = inbound.intent, text
    if intent is None and _looks_like_code(text):
        intent = "bind"  # a bare code, or a qrscene_ key typed or forwarded as text
    if intent is None:
        intent, args = detect(text, inbound.language)
    if intent in OPEN_INTENTS and intent in HANDLERS:
        return intent, args
    return None, text


def bind_request(inbound) -> str | None:
    """The arguments an unbound sender's message hands the 绑定 handler, or None when it
    runs no handler or another one: as dispatch routes it (the inbound path claims a
    batch's invite codes ahead, bot/pipeline.py)."""
    event = inbound.event.lower()
    if event in SILENT_EVENTS or event == "unsubscribe" or _passive(inbound):
        return None
    intent, args = _unbound_intent(inbound, inbound.get_plaintext())
    return args if intent == "bind" else None


def _looks_like_code(text: str) -> bool:
    code = normalise_code(text)
    return len(code) == CODE_LENGTH and all(c in ALPHABET for c in code)


def _allowed(intent: str | None, role: str | None) -> bool:
    route = HANDLERS.get(intent or "")
    return route is not None and route.allows(role)


def _route(ctx: Context) -> tuple[str | None, str]:
    """The intent (or "state:<name>") and its arguments for a bound sender's message."""
    inbound = ctx.inbound
    if inbound.intent:  # a menu key or a slash command names it outright
        return inbound.intent, ctx.args
    if inbound.location is not None:
        return "checkin", ctx.args
    text = ctx.args
    state = ctx.state()
    if state is not None and state.state in DIALOGS and not _is_command(text, ctx.role):
        return f"state:{state.state}", text
    words = match_words(text)
    if words is not None and _allowed(words[0], ctx.role):
        return words
    intent, rest = detect(text, ctx.lang)
    if intent is not None and _allowed(intent, ctx.role):
        return intent, rest
    if words is not None or intent is not None:
        lead = leading_command(text)
        if (words is not None and not words[1].split(maxsplit=1)[1:]) or (lead and not lead[2]):
            return (words or lead)[0], ""  # a bare word of another role: say whose it is
        # Another role's command word in a sentence: read it as free text for this role.
        return _free_text(ctx, text)
    return None, text


def _free_text(ctx: Context, text: str) -> tuple[str | None, str]:
    role = ctx.role
    lead = leading_command(text)
    rest = lead[2] if lead is not None else text
    intent = free_text_intent(rest) or free_text_intent(text)
    intent = READ_AS.get((intent, role), intent)
    if intent is not None and _allowed(intent, role):
        return intent, text
    if role == "student" and text.strip().startswith(JOURNAL_OPENERS):
        ctx.text = f"日报 {text.strip()}"
        return "journal", text.strip()
    return None, text


def _is_command(text: str, role: str | None) -> bool:
    """Inside a dialog, only a standalone command word of this role leaves it ("今日我学会了"
    is content)."""
    if control_word(text) is not None:
        return False  # 提交 / 取消 belong to the dialog, which answers them itself
    words = match_words(text)
    if words is not None:
        return _allowed(words[0], role)
    lead = leading_command(text)
    if lead is None or not _allowed(lead[0], role):
        return False
    _, word, _ = lead
    stripped = text.strip()
    if word.isascii():  # English words count only as /command or on their own
        return stripped.startswith("/") or stripped.lower() == word.lower()
    after = stripped[len(word) : len(word) + 1]
    return after == "" or after.isspace()


def _run(ctx: Context, intent: str | None) -> list[Reply]:
    route = HANDLERS.get(intent or "help") or HANDLERS["help"]
    if not route.allows(ctx.role):
        if route.refusal is not None:  # the handler's own word for other roles
            return ctx.reply(route.refusal)
        sep = ", " if ctx.lang == "en" else "、"
        roles = sep.join(role_name(r, ctx.lang) for r in route.roles or ())
        return ctx.reply(NOT_FOR_ROLE, roles=roles, role=role_name(ctx.role or "", ctx.lang))
    return route.handler(ctx)
