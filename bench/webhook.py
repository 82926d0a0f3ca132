"""Webhook throughput per message kind: a bare FastAPI endpoint versus the real /wechat.

The same server flags and client for both. Each request is a signed, AES-encrypted (safe mode)
WeChat callback with a unique MsgId from a distinct sender of its kind (bench.kinds: location
check-in, 状态, a journal part, 维权, 绑定 with a fresh code, a teacher's 今日). Afterwards
the database must show exactly one effect for every request answered 200.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from bench import wrk
from bench.callbacks import AES_KEY, APP_ID, TOKEN, Callback, Crafter
from bench.kinds import KINDS, Kind, Sender
from bench.population import STUDENT_OPENID, add_students
from bench.server import ROOT, children, uvicorn_server

BARE_MIN_REQUESTS = 10_000
WARM_UP = 500  # requests sent to each app before it is measured
WARM_UP_TEXTS = 100  # of which 状态 from the same warm-up students (the text path)
WARM_UP_IDLE_S = 2.0  # at least this long after the warm-up requests, then until the server idles
SETTLE_IDLE_S = 0.5  # the same after each kind, before its effects are counted
IDLE_CPU_SHARE = 0.05  # "idle": under 5% of a core over IDLE_PROBE_S
IDLE_PROBE_S = 0.5
IDLE_WAIT_MAX_S = 30.0
SETUP_CHUNK = 2_000  # setup callbacks built and sent per batch (WeChat's replay window is 5 min)
SETUP_MAX_S = 240.0


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
    """User + system CPU time of a server (all threads of it and of its writer process), from
    /proc; None without it."""
    total = 0.0
    for one in (pid, *children(pid)):
        try:
            with open(f"/proc/{one}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            if one == pid:
                return None
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def wait_until_idle(pid: int, min_s: float = WARM_UP_IDLE_S) -> None:
    """Let the server finish what it is doing before it is measured or counted.

    The app loads jieba's dictionary in a thread at start-up (seconds of CPU on a busy
    machine), and slow messages are finished after their passive reply: a measurement
    overlapping either measures them. Waits `min_s`, then until the process uses under
    IDLE_CPU_SHARE of a core (at most IDLE_WAIT_MAX_S).
    """
    time.sleep(min_s)
    deadline = time.monotonic() + IDLE_WAIT_MAX_S
    while time.monotonic() < deadline:
        before = _cpu_seconds(pid)
        time.sleep(IDLE_PROBE_S)
        after = _cpu_seconds(pid)
        if before is None or after is None or after - before < IDLE_CPU_SHARE * IDLE_PROBE_S:
            return


class _Server:
    """The real server being measured: where it is, and how to send it callbacks."""

    def __init__(self, base: str, pid: int, connections: int):
        self.base, self.pid, self.connections = base, pid, connections
        self.host = base.removeprefix("http://")

    def send(self, callbacks: list[Callback], max_s: float) -> dict:
        return _load(self.base, [c.raw(self.host) for c in callbacks], self.connections, max_s)


def _setup(server: _Server, kind: Kind, craft: Crafter, senders: list[Sender]) -> dict | None:
    """Send the kind's unmeasured preliminaries, in batches built just before they go out."""
    totals = {"sent": 0, "ok": 0, "errors": 0}
    for i in range(0, len(senders), SETUP_CHUNK):
        batch = kind.setup(craft, senders[i : i + SETUP_CHUNK])
        if not batch:
            return None
        done = server.send(batch, SETUP_MAX_S)
        for key in totals:
            totals[key] += done[key]
    return totals


def _settled_counts(server: _Server, kind: Kind, url: str, senders, sent) -> dict:
    """The kind's effect counts once the server is idle and they no longer change."""
    wait_until_idle(server.pid, SETTLE_IDLE_S)
    counted = kind.count(url, senders, sent)
    for _ in range(10):
        time.sleep(IDLE_PROBE_S)
        again = kind.count(url, senders, sent)
        if again == counted:
            break
        counted = again
    return counted


def measure_kind(
    server: _Server, kind: Kind, url: str, senders: list[Sender], bare_rps: float, max_s: float
) -> dict:
    """One kind: setup, the measured run, then its effects read from the database."""
    craft = Crafter()
    setup = _setup(server, kind, craft, senders)
    if setup is not None:
        wait_until_idle(server.pid, SETTLE_IDLE_S)
    sent = [kind.message(craft, s) for s in senders]
    real = server.send(sent, max_s)
    counted = _settled_counts(server, kind, url, senders, sent)
    counts = counted.pop("counts")
    once = counts.count(1)
    duplicated = sum(1 for c in counts if c > 1)
    entry = dict(real)
    entry.update(
        label=kind.label,
        ratio=round(real["rps"] / bare_rps, 3) if bare_rps else 0,
        effects=once,
        duplicated=duplicated,
        effects_per_s=round(once / real["seconds"], 1) if real["seconds"] else 0,
        effects_ok=once == real["ok"] and duplicated == 0 and real["errors"] == 0,
        **counted,
    )
    if setup is not None:
        entry["setup"] = setup
    return entry


def run(
    url: str,
    *,
    requests: int,
    kinds: list[str] | None = None,
    connections: int = 64,
    max_s: float = 20.0,
    bare_min: int = 0,
    log=print,
):
    """Bare once, then the real app for each kind; returns the figures and the checks."""
    names = list(kinds or KINDS)
    # The real app is warmed up like the bare one, with students of its own (not counted).
    warm = [STUDENT_OPENID.format(i) for i in add_students(url, min(WARM_UP, requests))]
    senders = {name: KINDS[name].senders(url, requests) for name in names}
    result: dict = {"connections": connections, "requests_planned": requests, "kinds": {}}
    craft = Crafter()
    with uvicorn_server("bench.webhook:bare_app") as (base, _):
        host = base.removeprefix("http://")
        reqs = [craft.location(openid).raw(host) for openid in warm]
        _load(base, reqs, connections, 5)  # warm-up
        # The bare app keeps no state: repeat the list so that its run lasts a few seconds.
        reqs = reqs * max(1, (bare_min or BARE_MIN_REQUESTS) // len(reqs))
        result["bare"] = bare = _load(base, reqs, connections, max_s)
    log(f"  bare: {bare['rps']} req/s")
    with uvicorn_server("api.asgi:app_factory", env=server_env(url)) as (base, proc):
        server = _Server(base, proc.pid, connections)
        server.send([craft.location(openid) for openid in warm], 5)
        server.send([craft.text(openid, "状态") for openid in warm[:WARM_UP_TEXTS]], 10)
        wait_until_idle(proc.pid)  # let start-up work (jieba's dictionary) finish
        for name in names:
            entry = measure_kind(server, KINDS[name], url, senders[name], bare["rps"], max_s)
            result["kinds"][name] = entry
            log(
                f"  {name}: {entry['rps']} req/s, ratio {entry['ratio']}, "
                f"p99 {entry['p99_ms']} ms, errors {entry['errors']}, "
                f"effects {entry['effects']}/{entry['ok']} (duplicated {entry['duplicated']})"
            )
        from bench.memory import server_rss_mb

        result["real_server_rss_mb"] = server_rss_mb(proc.pid)
    return result
