"""The one entry point for every channel: an Inbound in, Replies out, in one transaction."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import handlers  # noqa: F401  (importing the package registers every handler)
from bot.types import Inbound, Reply
from core.intents import control_word, detect, leading_command
from core.invites import ALPHABET, CODE_LENGTH, normalise_code
from core.settings import Settings
from handlers.base import INTENTS, STATES, Context, match_words
from handlers.bind import HOW_TO_BIND
from handlers.checkin import record_sample
from handlers.checkin_batch import CheckinBatchPath
from handlers.texts import role_name
from models import ChannelAccount

# Who may use an intent; anything not listed is open to every bound person (checkin
# answers other roles itself).
INTENT_ROLES = {
    "journal": ("student",),
    "submit": ("student",),
    "report": ("student",),
    "makeup": ("student", "teacher"),
    "today": ("teacher",),
    "student": ("teacher",),
    "grade": ("teacher", "mentor"),
    "handle": ("teacher", "school_admin"),
}
# Intents an unbound sender may use.
OPEN_INTENTS = ("bind",)
NOT_FOR_ROLE = (
    "抱歉，这个功能只对{roles}开放，您目前绑定的身份是{role}。发送「帮助」查看您可以做的事。",
    "Sorry, that is only for {roles}; you are linked as a {role}. Send /help to see what you "
    "can do.",
)


class Dispatcher:
    """Adapters are handed one of these; they never see handlers."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self.checkins = CheckinBatchPath(settings)

    def __call__(self, inbound: Inbound) -> list[Reply]:
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                replies = dispatch(inbound, session=session, settings=self.settings)
                session.commit()
                return replies
        finally:
            # Whatever this message did (bind, unbind, ...), the next one reads the binding anew.
            self.forget(inbound.channel, inbound.user_id)

    def batch_job(self, inbound: Inbound, key: str):
        """A group-commit job for an event with a fast path (a location check-in), else None.

        The job `(conn, batch)` answers a BatchOutcome; "fallback" means nothing was written
        and the event must go through this dispatcher as usual.
        """
        return self.checkins.job(inbound, key) if self.checkins.accepts(inbound) else None

    def forget(self, channel: str, user_id: str) -> None:
        """Drop what this process caches about a sender (after unbind, unsubscribe ...)."""
        self.checkins.forget(channel, user_id)


def dispatch(inbound: Inbound, *, session: Session, settings: Settings) -> list[Reply]:
    """Route one event: binding first, then locations, dialogs, commands, free text, help."""
    account = session.exec(
        select(ChannelAccount).where(
            ChannelAccount.channel == inbound.channel,
            ChannelAccount.external_id == inbound.user_id,
            ChannelAccount.active.is_(True),
        )
    ).first()
    ctx = Context(
        inbound=inbound,
        session=session,
        settings=settings,
        now=inbound.at,
        account=account,
        args=inbound.get_plaintext(),
    )
    loc = inbound.location
    passive = loc is not None and (loc.source == "event" or inbound.kind == "event")
    if account is None:
        return _unbound(ctx, passive)
    account.last_inbound_at = inbound.at
    session.add(account)
    if loc is not None and loc.source in ("event", "live"):
        record_sample(ctx)
    if passive:  # a WeChat LOCATION event is evidence; the adapter answers "success"
        return []
    intent, args = _route(ctx)
    ctx.intent, ctx.args = intent, args
    if intent is not None and intent.startswith("state:"):
        return STATES[intent.removeprefix("state:")](ctx)
    return _run(ctx, intent)


def _unbound(ctx: Context, passive: bool) -> list[Reply]:
    """Unbound senders can only bind; everything else explains how."""
    if passive:
        return []
    intent, args = ctx.inbound.intent, ctx.args
    if intent is None and _looks_like_code(ctx.args):
        intent = "bind"  # a bare code, or a qrscene_ key typed or forwarded as text
    if intent is None:
        intent, args = detect(ctx.args, ctx.inbound.language)
    if intent in OPEN_INTENTS and intent in INTENTS:
        ctx.intent, ctx.args = intent, args
        return INTENTS[intent](ctx)
    return ctx.reply(HOW_TO_BIND)


def _looks_like_code(text: str) -> bool:
    code = normalise_code(text)
    return len(code) == CODE_LENGTH and all(c in ALPHABET for c in code)


def _route(ctx: Context) -> tuple[str | None, str]:
    """The intent (or "state:<name>") and its arguments for a bound sender's message."""
    inbound = ctx.inbound
    if inbound.intent:  # a menu key or a slash command names it outright
        return inbound.intent, ctx.args
    if inbound.location is not None:
        return "checkin", ctx.args
    text = ctx.args
    state = ctx.state()
    if state is not None and state.state in STATES and not _is_command(text):
        return f"state:{state.state}", text
    words = match_words(text)
    if words is not None:
        return words
    intent, rest = detect(text, ctx.lang)
    if intent is not None and intent in INTENTS:
        return intent, rest
    return None, text


def _is_command(text: str) -> bool:
    """Inside a dialog, only a standalone command word leaves it ("今日我学会了" is content)."""
    if control_word(text) is not None:
        return False  # 提交 / 取消 belong to the dialog, which answers them itself
    if match_words(text) is not None:
        return True
    lead = leading_command(text)
    if lead is None:
        return False
    _, word, _ = lead
    stripped = text.strip()
    if word.isascii():  # English words count only as /command or on their own
        return stripped.startswith("/") or stripped.lower() == word.lower()
    after = stripped[len(word) : len(word) + 1]
    return after == "" or after.isspace()


def _run(ctx: Context, intent: str | None) -> list[Reply]:
    handler = INTENTS.get(intent or "help") or INTENTS["help"]
    allowed = INTENT_ROLES.get(intent or "")
    if allowed and ctx.role not in allowed:
        sep = ", " if ctx.lang == "en" else "、"
        roles = sep.join(role_name(r, ctx.lang) for r in allowed)
        return ctx.reply(NOT_FOR_ROLE, roles=roles, role=role_name(ctx.role or "", ctx.lang))
    return handler(ctx)
