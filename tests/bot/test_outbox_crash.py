"""A sender killed with SIGKILL mid-delivery: what was in flight is sent again, nothing else.

Real processes (`shixi worker`, `shixi tick`) on a real SQLite file and PostgreSQL push to a
fake Telegram on loopback that counts every sendMessage it receives. The fake answers the
first ANSWERED pushes and then holds every push without answering, so the sender ends up
with all its slots in flight; then it is killed. A `shixi tick --at` the same time (or a
restarted worker) must deliver the rest at once, and only the pushes that were in flight
may arrive twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
from factories import bind
from sqlalchemy import text
from sqlmodel import Session

from bot.outbox import CONCURRENCY
from models.queue import enqueue

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
MESSAGES = 160
ANSWERED = 60  # answered at once; every later push is held until the sender is dead
WAIT_S = 120  # a bound for a loaded machine, never a measure


class FakeTelegram(ThreadingHTTPServer):
    """sendMessage on loopback: counts what arrives, holds pushes past the first ANSWERED."""

    daemon_threads = True
    request_queue_size = 128  # every slot of a sender connects at once

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.changed = threading.Condition()
        self.received: list[str] = []  # chat ids, one per push received
        self.held = 0
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def wait_for(self, predicate) -> None:
        with self.changed:
            if not self.changed.wait_for(predicate, timeout=WAIT_S):
                pytest.fail(f"the fake Telegram saw {len(self.received)} pushes, {self.held} held")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept-alive connections, as api.telegram.org

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        chat = parse_qs(body)["chat_id"][0]
        server: FakeTelegram = self.server  # type: ignore[assignment]
        with server.changed:
            server.received.append(chat)
            hold = len(server.received) > ANSWERED and not server.release.is_set()
            server.held += hold
            server.changed.notify_all()
        if hold:
            server.release.wait()
        payload = b'{"ok":true,"result":{"message_id":%d}}' % len(server.received)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the sender was killed while this push was held
            self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake():
    server = FakeTelegram()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()


@pytest.fixture
def queued(engine) -> None:
    with Session(engine) as session:
        for i in range(MESSAGES):
            bind(session, person_kind="teacher", person_id=5000 + i, channel="telegram",
                 external_id=str(i))  # fmt: skip
            enqueue(session, person_kind="teacher", person_id=5000 + i, key=f"crash{i}",
                    text=f"通知 {i}", now=AT, not_before=AT)  # fmt: skip
        session.commit()


@pytest.fixture
def shixi(db_url, fake, tmp_path):
    """Start `shixi ...` as a real process against the test database and the fake Telegram."""
    config = tmp_path / "config.toml"
    config.write_text('[server]\nsecret_key = "crash-test"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIXI_")}
    env |= {
        "SHIXI_CONFIG": str(config),
        "SHIXI_DATABASE__URL": db_url,
        "SHIXI_TELEGRAM__TOKEN": "123456:CRASH-TOKEN",
        "SHIXI_TELEGRAM__API_BASE_URL": fake.url,
        "SHIXI_WECHAT__TOKEN": "",
        "SHIXI_OUTBOX__RATE_PER_S": "0",
        "PYTHONUNBUFFERED": "1",
    }
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def _kill_when_every_slot_is_held(proc: subprocess.Popen, fake: FakeTelegram) -> None:
    fake.wait_for(lambda: fake.held == CONCURRENCY)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    fake.release.set()  # the held pushes now answer a dead sender


def _statuses(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all())


def _wait_for_dead_locks(engine) -> None:
    """PostgreSQL ends a killed client's session on its own, a moment after the kill."""
    if engine.dialect.name != "postgresql":
        return  # the kernel dropped the flock when the process died
    held = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
        "((classid::bigint << 32) | objid::bigint) IN "
        "(SELECT claimed_by FROM outbox WHERE status = 'sending')"
    )
    deadline = time.monotonic() + WAIT_S
    with engine.connect() as conn:
        while conn.execute(held).scalar() and time.monotonic() < deadline:
            time.sleep(0.05)


def _tick(shixi) -> str:
    out, _ = shixi("tick", "--at", AT.isoformat()).communicate(timeout=WAIT_S)
    assert "已发送到期消息" in out, out
    return out


def _delivered_once_each_but_what_was_in_flight(fake: FakeTelegram, engine) -> None:
    assert _statuses(engine) == {"sent": MESSAGES}
    counts = Counter(fake.received)
    assert set(counts) == {str(i) for i in range(MESSAGES)}  # every message arrived
    twice = [chat for chat, n in counts.items() if n > 1]
    assert max(counts.values()) == 2
    assert len(twice) == CONCURRENCY  # exactly the pushes held in flight at the kill


def test_a_worker_killed_mid_delivery_leaves_a_tick_at_the_same_time_the_rest(
    engine, queued, fake, shixi
):
    worker = shixi("worker")
    _kill_when_every_slot_is_held(worker, fake)
    assert _statuses(engine) == {"sent": ANSWERED, "sending": CONCURRENCY,
                                 "pending": MESSAGES - ANSWERED - CONCURRENCY}  # fmt: skip
    _wait_for_dead_locks(engine)
    out = _tick(shixi)
    assert f"已发送到期消息 {MESSAGES - ANSWERED} 条" in out, out
    _delivered_once_each_but_what_was_in_flight(fake, engine)


def test_a_tick_killed_mid_delivery_leaves_a_restarted_worker_the_rest(engine, queued, fake, shixi):
    tick = shixi("tick", "--at", AT.isoformat())
    _kill_when_every_slot_is_held(tick, fake)
    assert _statuses(engine)["sending"] == CONCURRENCY
    _wait_for_dead_locks(engine)
    worker = shixi("worker")
    fake.wait_for(lambda: len(fake.received) == MESSAGES + CONCURRENCY)
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=WAIT_S)
    assert worker.returncode == 0, out
    _delivered_once_each_but_what_was_in_flight(fake, engine)
