"""The WeChat callback flow: open and check the callback, hand it to the pipeline, seal the reply.

Every callback, whatever its kind, takes the one inbound path (bot/pipeline.py) in "passive"
mode: the answer is sent only once the message's effect, its dedupe mark and its stored reply
have committed together, so an answer ("success" included) always means the message is safe.
A reply handled too late for WeChat's 5-second deadline went to the outbox in that same commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.wechat import WechatCodec, WechatRejected, dedup_key, to_inbound
from core.settings import Settings
from models.types import utcnow

if TYPE_CHECKING:  # adapters are handed the pipeline; they do not import what it runs
    from bot.pipeline import Pipeline


class WechatWebhook:
    """Adapter for the official account; handed the pipeline, it never sees handlers."""

    def __init__(
        self,
        settings: Settings,
        pipeline: Pipeline,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.settings, self.pipeline = settings, pipeline
        self.codec = WechatCodec(settings)
        self.clock = clock

    def verify(self, params: dict) -> str:
        return self.codec.verify_url(params, self.clock())

    async def handle(self, params: dict, body: bytes) -> str:
        """The body to answer one callback with; raises WechatRejected for anything not from
        WeChat (before anything is recorded)."""
        now = self.clock()
        xml, fields, encrypted = self.codec.open(params, body, now)
        inbound = to_inbound(xml, fields, at=now)
        handled = await self.pipeline.submit(
            inbound,
            dedup_key(fields),
            mode="passive",
            replay_key=self.codec.replay_key(params, xml),
        )
        if handled.status == "refused":
            raise WechatRejected(403, "timestamp and nonce already used for another message")
        return self.codec.seal(handled.answer, fields, params, encrypted)
