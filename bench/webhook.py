"""Webhook throughput: a bare FastAPI endpoint versus the real /wechat, same server, same client.

Each request is a signed, AES-encrypted (safe mode) WeChat location message from a different
bound student with a unique MsgId; afterwards every 200 must have produced exactly one check-in.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select, text

from bench import wrk
from bench.load import copy_rows, fix_sequences
from bench.server import ROOT, uvicorn_server
from models import ChannelAccount, CheckIn, Placement, Student
from models.db import make_engine

TOKEN = "benchtoken"
APP_ID = "wxbench0000000001"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oBenchHook{:014d}"
# A Guiyang workplace (GCJ-02); the bench students stand 40 m north of it.
SITE = (26.5783, 106.7135)
BARE_MIN_REQUESTS = 10_000
WARM_UP = 500  # requests sent to each app before it is measured
WARM_UP_IDLE_S = 2.0  # at least this long after the warm-up requests, then until the server idles
IDLE_CPU_SHARE = 0.05  # "idle": under 5% of a core over IDLE_PROBE_S
IDLE_PROBE_S = 0.5
IDLE_WAIT_MAX_S = 30.0


def bare_app() -> FastAPI:
    """The reference: parses nothing, touches no database, answers 'success'."""
    app = FastAPI()

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.post("/wechat")
    async def wechat(request: Request):
        await request.body()
        return PlainTextResponse("success")

    return app


def server_env(url: str) -> dict:
    """Settings for the real app in its own process (a web replica: no scheduler)."""
    return {
        "SHIXI_DATABASE__URL": url,
        "SHIXI_WECHAT__TOKEN": TOKEN,
        "SHIXI_WECHAT__APP_ID": APP_ID,
        "SHIXI_WECHAT__ENCODING_AES_KEY": AES_KEY,
        "SHIXI_WECHAT__API_BASE_URL": "http://127.0.0.1:9",  # never reached in this bench
        "SHIXI_TELEGRAM__TOKEN": "",
        "SHIXI_SCHEDULER__ENABLED": "false",
    }


def add_webhook_students(url: str, n: int) -> list[int]:
    """Bound students on a 1-7 placement around the real date (the server uses the real clock)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        first = (conn.execute(select(func.max(Student.id))).scalar() or 0) + 1
        first_pl = (conn.execute(select(func.max(Placement.id))).scalar() or 0) + 1
        first_acc = (conn.execute(select(func.max(ChannelAccount.id))).scalar() or 0) + 1
        school_id, teacher_id = conn.execute(
            text("SELECT school_id, id FROM teachers ORDER BY id LIMIT 1")
        ).one()
        company_id = conn.execute(text("SELECT MIN(id) FROM companies")).scalar()
    now = datetime.now(UTC)
    ids = list(range(first, first + n))
    copy_rows(
        engine,
        Student.__table__,
        ["id", "student_no", "name", "gender", "school_id", "teacher_id", "phone", "created_at"],
        ((i, f"HOOK{i:010d}", "压测学生", "女", school_id, teacher_id, "", now) for i in ids),
    )
    today = date.today()
    copy_rows(
        engine,
        Placement.__table__,
        ["id", "student_id", "school_id", "company_id", "industry", "position", "address", "city",
         "latitude", "longitude", "coord_system", "norm_lat", "norm_lng", "radius_m",
         "shift_start", "shift_end", "workdays", "workdays_mask", "start_date", "end_date",
         "arranged_by_school", "agreement_signed", "insured", "created_at", "updated_at"],
        ((first_pl + k, i, school_id, company_id, "制造", "产线技术员", "贵阳市观山湖区", "贵阳市",
          *SITE, "gcj02", *SITE, 500, dtime(0, 0), dtime(23, 59), "1-7", 127,
          today - timedelta(days=30), today + timedelta(days=30), True, True, True, now, now)
         for k, i in enumerate(ids)),
    )  # fmt: skip
    copy_rows(
        engine,
        ChannelAccount.__table__,
        ["id", "channel", "external_id", "person_kind", "person_id", "school_id", "language",
         "display_name", "active", "bound_at"],
        ((first_acc + k, "wechat", OPENID.format(i), "student", i, school_id, "zh", "", True, now)
         for k, i in enumerate(ids)),
    )  # fmt: skip
    fix_sequences(engine, [Student.__table__, Placement.__table__, ChannelAccount.__table__])
    engine.dispose()
    return ids


def build_requests(student_ids: list[int], host: str) -> list[str]:
    """One raw HTTP request per student: safe mode, signed, unique MsgId, fresh timestamp."""
    from wechatpy.crypto import WeChatCrypto

    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    stamp = str(int(time.time()))
    lat = SITE[0] + 40 / 111320.0
    out = []
    for n, sid in enumerate(student_ids):
        nonce = f"n{n:09d}"
        xml = (
            f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
            f"<FromUserName><![CDATA[{OPENID.format(sid)}]]></FromUserName>"
            f"<CreateTime>{stamp}</CreateTime><MsgType><![CDATA[location]]></MsgType>"
            f"<Location_X>{lat:.6f}</Location_X><Location_Y>{SITE[1]:.6f}</Location_Y>"
            f"<Scale>15</Scale><Label><![CDATA[贵阳市观山湖区]]></Label>"
            f"<MsgId>{7_000_000_000_000_000 + sid}</MsgId></xml>"
        )
        sealed = crypto.encrypt_message(xml, nonce, stamp)
        msg_signature = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        signature = hashlib.sha1("".join(sorted([TOKEN, stamp, nonce])).encode()).hexdigest()
        query = urlencode(
            dict(
                signature=signature,
                timestamp=stamp,
                nonce=nonce,
                openid=OPENID.format(sid),
                encrypt_type="aes",
                msg_signature=msg_signature,
            )
        )
        body = sealed.encode()
        out.append(
            f"POST /wechat?{query} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{sealed}"
        )
    return out


def _load(base: str, requests: list[str], connections: int, max_s: float) -> dict:
    """wrk when installed (bench.wrk), else the Python client in its own process."""
    host, port = base.removeprefix("http://").split(":")
    if wrk.wanted():
        return wrk.run(requests, host, int(port), connections, max_s)
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as fh:
        json.dump(requests, fh, ensure_ascii=False)
        fh.flush()
        cmd = [sys.executable, "-m", "bench.loadgen", fh.name, host, port, str(connections)]
        done = subprocess.run(
            [*cmd, str(max_s)], cwd=ROOT, capture_output=True, text=True, timeout=max_s + 120
        )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads), from /proc; None without it."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int) -> None:
    """Let the server's start-up work finish before it is measured.

    The app loads jieba's dictionary in a thread at start-up (seconds of CPU on a busy
    machine); a measurement overlapping it measures the start-up. Waits WARM_UP_IDLE_S, then
    until the process uses under IDLE_CPU_SHARE of a core (at most IDLE_WAIT_MAX_S).
    """
    time.sleep(WARM_UP_IDLE_S)
    deadline = time.monotonic() + IDLE_WAIT_MAX_S
    while time.monotonic() < deadline:
        before = _cpu_seconds(pid)
        time.sleep(IDLE_PROBE_S)
        after = _cpu_seconds(pid)
        if before is None or after is None or after - before < IDLE_CPU_SHARE * IDLE_PROBE_S:
            return


def _count_checkins(url: str, ids: list[int]) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            select(func.count(), func.count(func.distinct(CheckIn.student_id))).where(
                CheckIn.student_id >= ids[0], CheckIn.student_id <= ids[-1]
            )
        ).one()
    engine.dispose()
    return row[0], row[1]


def run(
    url: str,
    *,
    requests: int,
    connections: int = 64,
    max_s: float = 20.0,
    bare_min: int = 0,
    log=print,
):
    """Bare then real, same client and server flags; returns the figures and the check."""
    # The real app is warmed up like the bare one, with students of its own (not counted).
    warm_ids = add_webhook_students(url, min(WARM_UP, requests))
    ids = add_webhook_students(url, requests)
    result: dict = {"connections": connections, "requests_planned": requests}
    with uvicorn_server("bench.webhook:bare_app") as (base, _):
        reqs = build_requests(ids, base.removeprefix("http://"))
        _load(base, reqs[:WARM_UP], connections, 5)  # warm-up
        # The bare app keeps no state: repeat the list so that its run lasts a few seconds.
        reqs = reqs * max(1, (bare_min or BARE_MIN_REQUESTS) // len(reqs))
        result["bare"] = _load(base, reqs, connections, max_s)
    log(f"  bare: {result['bare']['rps']} req/s")
    with uvicorn_server("api.asgi:app_factory", env=server_env(url)) as (base, proc):
        _load(base, build_requests(warm_ids, base.removeprefix("http://")), connections, 5)
        wait_until_idle(proc.pid)  # let start-up work (jieba's dictionary) finish
        reqs = build_requests(ids, base.removeprefix("http://"))
        result["real"] = real = _load(base, reqs, connections, max_s)
        # Slow dispatches finish after the passive reply: wait for the count to settle.
        settled, last = time.monotonic() + 10, None
        while time.monotonic() < settled:
            count = _count_checkins(url, ids)
            if count == last:
                break
            last = count
            time.sleep(0.5)
        from bench.memory import rss_mb

        result["real_server_rss_mb"] = rss_mb(proc.pid)
    total, distinct = last
    real["checkins"] = total
    real["checkins_ok"] = total == real["ok"] == distinct and real["errors"] == 0
    result["ratio"] = round(real["rps"] / result["bare"]["rps"], 3) if result["bare"]["rps"] else 0
    log(f"  real: {real['rps']} req/s, ratio {result['ratio']}, check-ins {total}/{real['ok']}")
    return result
