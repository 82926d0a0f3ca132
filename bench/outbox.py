"""Outbox delivery messages/s to a local fake upstream (Telegram sendMessage, WeChat templates)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import timedelta

from sqlalchemy import text

from bench.common import NOT_BUILT, at_local, bench_settings, optional
from bench.load import copy_rows
from bench.server import uvicorn_server
from models import OutboxMessage
from models.db import make_engine

SEND_AT = "09:30"  # outside quiet hours


def fake_upstream():
    """A raw ASGI app answering like api.telegram.org and api.weixin.qq.com, instantly."""
    ids = itertools.count(1)

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        path, n = scope["path"], next(ids)
        if path.endswith("/sendMessage"):
            chat = {"id": 1, "type": "private"}
            body = {"ok": True, "result": {"message_id": n, "date": 1, "chat": chat, "text": "."}}
        elif path.endswith("_token") or path.endswith("/token"):
            body = {"access_token": "BENCH-ACCESS-TOKEN", "expires_in": 7200}
        elif path.startswith("/cgi-bin/message/"):
            body = {"errcode": 0, "errmsg": "ok", "msgid": n}
        else:
            body = {"ok": True}
        payload = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(payload)),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app


def _queue(engine, now, messages: int) -> None:
    """Clear what the sweeps queued and put `messages` plain notices in, half per channel."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox"))
        teachers = conn.execute(
            text(
                "SELECT external_id, person_id FROM channel_accounts "
                "WHERE person_kind = 'teacher' ORDER BY id LIMIT :n"
            ),
            {"n": messages},
        ).all()
    due = now - timedelta(minutes=1)
    rows = []
    for i in range(messages):
        wechat = i % 2 == 0 and teachers
        to, pid = teachers[i % len(teachers)] if wechat else (str(100000 + i), i)
        rows.append(
            (
                f"bench:{i}", None, "notice", "wechat" if wechat else "telegram", to,
                "teacher", pid, None, f"压测消息 {i}：今日有 3 名学生未签到。", {}, False,
                "pending", 0, due, None, "", "", due,
            )
        )  # fmt: skip
    copy_rows(
        engine,
        OutboxMessage.__table__,
        ["idempotency_key", "school_id", "kind", "channel", "to_external_id", "person_kind",
         "person_id", "day", "text", "params", "quiet_hours", "status", "attempts",
         "next_attempt_at", "expires_at", "last_error", "upstream_id", "created_at"],
        rows,
    )  # fmt: skip


def run(url: str, *, today, messages: int, log=print) -> dict:
    # http_client: the client the sender process itself pushes with.
    found = optional("bot.outbox", "deliver_due", "http_client")
    senders_found = optional("bot.senders", "build_senders")
    if found is None or senders_found is None:
        return {"delivery": NOT_BUILT}
    (deliver_due, http_client), (build_senders,) = found, senders_found

    now = at_local(today, SEND_AT)
    engine = make_engine(url)
    try:
        _queue(engine, now, messages)
        with uvicorn_server("bench.outbox:fake_upstream") as (base, _):
            settings = bench_settings(
                url,
                wechat={
                    "token": "benchtoken",
                    "app_id": "wxbench",
                    "app_secret": "secret",
                    "api_base_url": base,
                    # Every template message is filled from params and signs its /m/ link.
                    "templates": {
                        "nudge": {"id": "T1", "fields": {"time1": "{date}", "thing2": "{summary}"}},
                        "absence": {
                            "id": "T2",
                            "fields": {"thing1": "{student}", "thing3": "{summary}"},
                        },
                        "notice": {
                            "id": "T3",
                            "fields": {"thing1": "{summary}", "time2": "{date}"},
                        },
                    },
                },
                server={"public_url": "https://shixi.example.edu.cn", "secret_key": "bench"},
                telegram={"token": "123456:BENCH", "api_base_url": base},
                outbox={"rate_per_s": 0},
            )

            async def deliver() -> tuple[float, float, int]:
                async with http_client() as client:
                    senders = build_senders(settings, client, engine=engine)
                    t0, cpu0 = time.perf_counter(), time.process_time()
                    sent = await deliver_due(engine, settings, now=now, senders=senders)
                    return time.perf_counter() - t0, time.process_time() - cpu0, sent

            seconds, cpu, sent = asyncio.run(deliver())
        with engine.connect() as conn:
            statuses = dict(
                conn.execute(text("SELECT status, COUNT(*) FROM outbox GROUP BY status")).all()
            )
    finally:
        engine.dispose()
    result = {
        "messages": messages,
        "sent": sent,
        "seconds": round(seconds, 2),
        "messages_per_s": round(sent / seconds) if seconds else 0,
        # CPU of the sending process (event loop and database threads): steadier than
        # messages/s on a machine shared with other work.
        "sender_cpu_us_per_message": round(cpu / sent * 1e6) if sent else 0,
        "statuses": statuses,
    }
    log(
        f"  outbox: {result['messages_per_s']} messages/s ({sent}/{messages} sent, "
        f"{result['sender_cpu_us_per_message']} µs sender CPU per message)"
    )
    return result
