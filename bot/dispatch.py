"""The one entry point for every channel: an Inbound in, Replies out, in one transaction."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import handlers  # noqa: F401  (importing the package registers every handler)
from bot.types import Inbound, Reply
from core.settings import Settings
from handlers.base import INTENTS, STATES, Context
from models import ChannelAccount

HELP_ZH = "您好，这里是实习助手。发送「帮助」查看可以做的事。"


class Dispatcher:
    """Adapters are handed one of these; they never see handlers."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings

    def __call__(self, inbound: Inbound) -> list[Reply]:
        with Session(self.engine, expire_on_commit=False) as session:
            replies = dispatch(inbound, session=session, settings=self.settings)
            session.commit()
            return replies


def dispatch(inbound: Inbound, *, session: Session, settings: Settings) -> list[Reply]:
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
    state = ctx.state()
    if state is not None and state.state in STATES and inbound.intent is None:
        return STATES[state.state](ctx)
    handler = INTENTS.get(inbound.intent or "help")
    if handler is None:
        return [Reply(HELP_ZH)]
    return handler(ctx)
