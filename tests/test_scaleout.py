"""Scale-out on PostgreSQL: two web processes, two workers and two ticks lose and repeat nothing.

Real processes (`shixi serve --no-scheduler`, `shixi worker`, `shixi tick`) share one database;
WeChat check-ins are posted to both web processes, some with the same MsgId to both at once;
the outbox is drained by all four schedulers into a fake Telegram on loopback that records
every sendMessage (it also answers WeChat: on a loaded machine a check-in's answer may miss the
passive-reply deadline and go out as a customer-service message). Every process runs on one
fixed clock (time-machine, started at the same instant in each): Monday 2026-03-02 09:40 in
Shanghai plus the seconds since the test began, so workers sweep and send as of a known time.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlmodel import Session, SQLModel

from core.settings import Settings
from models import CheckIn, OutboxMessage, Teacher
from models.db import make_engine
from models.queue import enqueue
from tests.api.wechat_craft import craft
from tests.factories import GUIYANG, bind, make_student

ROOT = Path(__file__).resolve().parents[1]
TZ_NAME = "Asia/Shanghai"
TG_TOKEN = "123456:SCALE-TOKEN"
WECHAT = {
    "token": "wxtoken",
    "app_id": "wx0123456789abcdef",
    "app_secret": "wxsecret",
    "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}
WECHAT_STUDENTS = 24  # check in through WeChat, half of them also as duplicates
TELEGRAM_STUDENTS = 16  # bound on Telegram, never check in: the sweeps nudge them
TEACHERS = 4
NOTICES_PER_TEACHER = 50  # queued directly, so the outbox is busy from the start
DEADLINE_S = 240  # generous for a loaded CI machine; a healthy run settles in ~30 s
# The shift began at 09:00, so the nudge (shift start + 30 min) is due; the digest (+2 h) not.
CLOCK_STARTS = datetime(2026, 3, 2, 9, 40, tzinfo=ZoneInfo(TZ_NAME))
SHIFT_START = dtime(9, 0)
# Run in each process before the app is imported: the clock starts at CLOCK_STARTS plus the
# real seconds since the test's start (argv[1] is the offset), and runs on from there.
FIXED_CLOCK_MAIN = (
    "import sys, time, time_machine; "
    "time_machine.travel(time.time() + float(sys.argv.pop(1)), tick=True).start(); "
    "from api.cli import main; main()"
)


class FakeTelegram(ThreadingHTTPServer):
    """Bot API on loopback: records every sendMessage and answers it with a unique id."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TelegramHandler)
        self.lock = threading.Lock()
        self.sent: list[tuple[str, str, int]] = []  # (chat_id, text, message_id)
        self.wechat_sent: list[tuple[str, str]] = []  # (openid, text): late passive replies

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _TelegramHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            fields = json.loads(body or "{}")
        else:
            fields = {k: v[0] for k, v in parse_qs(body).items()}
        method = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
        server: FakeTelegram = self.server  # type: ignore[assignment]
        if "/cgi-bin/" in self.path:
            return self._wechat(method, json.loads(body or "{}"), server)
        if method == "sendMessage":
            with server.lock:
                message_id = len(server.sent) + 1
                server.sent.append((str(fields["chat_id"]), str(fields["text"]), message_id))
            result = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": int(fields["chat_id"]), "type": "private"},
                "text": fields["text"],
            }
        elif method == "getMe":
            result = {"id": 123456, "is_bot": True, "first_name": "Shixi", "username": "shixi_bot"}
        else:
            result = True
        payload = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _wechat(self, method: str, fields: dict, server: FakeTelegram) -> None:
        if method == "stable_token":
            answer = {"access_token": "scale-test-token", "expires_in": 7200}
        else:  # custom/send
            with server.lock:
                server.wechat_sent.append((fields["touser"], fields["text"]["content"]))
            answer = {"errcode": 0, "errmsg": "ok"}
        self._json(answer)

    def _json(self, answer: dict) -> None:
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_config(path: Path, db_url: str, telegram_url: str, today: date) -> Path:
    # Weekly journal jobs on a day that is neither today nor yesterday: not part of this test.
    quiet_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(today.weekday() + 3) % 7]
    path.write_text(
        f"""
[database]
url = "{db_url}"
pool_size = 3
[server]
secret_key = "scale-test"
cookie_secure = false
timezone = "{TZ_NAME}"
[wechat]
token = "{WECHAT["token"]}"
app_id = "{WECHAT["app_id"]}"
app_secret = "{WECHAT["app_secret"]}"
encoding_aes_key = "{WECHAT["encoding_aes_key"]}"
api_base_url = "{telegram_url}/wechat-unused"
[telegram]
token = "{TG_TOKEN}"
webhook_secret = "tg-secret"
api_base_url = "{telegram_url}"
[scheduler]
quiet_start = "07:00"
quiet_end = "07:00"
journal_reminder = "{quiet_day} 12:00"
journal_digest = "{quiet_day} 12:00"
[outbox]
rate_per_s = 0
[calendar]
workdays = ["{today.isoformat()}"]
""",
        encoding="utf-8",
    )
    return path


class Processes:
    """Subprocesses of the test on its fixed clock, always stopped at the end."""

    def __init__(self, env: dict[str, str], logs: Path, offset_s: float) -> None:
        self.env, self.logs, self.procs = env, logs, []
        self.offset_s = offset_s

    def start(self, name: str, *args: str) -> subprocess.Popen:
        with (self.logs / f"{name}.log").open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-c", FIXED_CLOCK_MAIN, repr(self.offset_s), *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc.name = name  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def output(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _wait_healthy(base: str, procs: Processes, name: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{name} did not become healthy:\n{procs.output(name)}")


def _location_xml(openid: str, msg_id: int, at: datetime) -> str:
    lat, lng = GUIYANG
    return (
        "<xml><ToUserName><![CDATA[gh_3f2a1b9c8d7e]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(at.timestamp())}</CreateTime>"
        "<MsgType><![CDATA[location]]></MsgType>"
        f"<Location_X>{lat:.6f}</Location_X><Location_Y>{lng:.6f}</Location_Y>"
        "<Scale>15</Scale><Label><![CDATA[贵州省贵阳市观山湖区林城西路]]></Label>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def _seed(url: str, today: date, shift_start: dtime) -> tuple[int, list[str]]:
    """Students (WeChat- and Telegram-bound), teachers on Telegram, queued notices."""
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    openids, notices = [], 0
    placement = dict(
        shift_start=shift_start,
        shift_end=dtime(23, 59),
        workdays="1-5",
        start_date=today,
        end_date=today + timedelta(days=60),
    )
    with Session(engine) as session:
        for i in range(WECHAT_STUDENTS + TELEGRAM_STUDENTS):
            teacher_phone = f"1390000{i % TEACHERS:04d}"
            student = make_student(
                session, student_no=f"SC{i:04d}", teacher_phone=teacher_phone, **placement
            )
            if i < WECHAT_STUDENTS:
                openids.append(f"oScale{i:022d}")
                bind(session, person_kind="student", person_id=student.id, channel="wechat",
                     external_id=openids[-1], school_id=student.school_id)  # fmt: skip
            else:
                bind(session, person_kind="student", person_id=student.id, channel="telegram",
                     external_id=str(100_000 + i), school_id=student.school_id)  # fmt: skip
        teachers = session.scalars(select(Teacher).order_by(Teacher.id)).all()
        for t in teachers:
            bind(session, person_kind="teacher", person_id=t.id, channel="telegram",
                 external_id=str(900_000 + t.id), school_id=t.school_id)  # fmt: skip
            for n in range(NOTICES_PER_TEACHER):
                notices += enqueue(
                    session, person_kind="teacher", person_id=t.id, key=f"scale:{t.id}:{n}",
                    text=f"扩容测试通知 {t.id}-{n}", school_id=t.school_id,
                    now=CLOCK_STARTS, not_before=CLOCK_STARTS,
                )  # fmt: skip
        session.commit()
    engine.dispose()
    return notices, openids


async def _post_checkins(bases: list[str], settings: Settings, openids: list[str], at) -> list:
    """One location per student, alternating web processes; every other one also sent to both
    at the same moment (WeChat retries a slow callback, maybe through another replica)."""
    async with httpx.AsyncClient(timeout=15) as client:

        async def post(base: str, openid: str, msg_id: int, nonce: str):
            params, body = craft(
                settings, _location_xml(openid, msg_id, at), at=at, mode="safe", nonce=nonce
            )
            params["openid"] = openid
            return await client.post(f"{base}/wechat", params=params, content=body)

        calls = []
        for i, openid in enumerate(openids):
            msg_id = 7_000_000_000_000_000 + i
            calls.append(post(bases[i % 2], openid, msg_id, f"{i}01"))
            if i % 2 == 0:
                calls.append(post(bases[1 - i % 2], openid, msg_id, f"{i}02"))
        return await asyncio.gather(*calls)


def _outbox_settled(engine) -> bool:
    with engine.connect() as conn:
        live = conn.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_(("pending", "sending")))
        ).scalar_one()
    return live == 0


def test_two_web_processes_and_two_workers_lose_and_duplicate_nothing(pg_schema_url, tmp_path):
    if pg_schema_url is None:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    deadline = time.monotonic() + DEADLINE_S
    settings = Settings(database={"url": pg_schema_url}, wechat=WECHAT)
    offset_s = CLOCK_STARTS.timestamp() - time.time()

    def now() -> datetime:
        """The clock every process of the test runs on."""
        return datetime.fromtimestamp(time.time() + offset_s, settings.tz)

    notices, openids = _seed(pg_schema_url, CLOCK_STARTS.date(), SHIFT_START)

    fake = FakeTelegram()
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    config = _write_config(tmp_path / "config.toml", pg_schema_url, fake.url, CLOCK_STARTS.date())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIXI_")}
    env |= {"SHIXI_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    procs = Processes(env, tmp_path, offset_s)
    engine = make_engine(pg_schema_url)
    try:
        ports = [_free_port(), _free_port()]
        for n, port in enumerate(ports):
            procs.start(f"web{n}", "serve", "--no-scheduler", "--port", str(port))
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for n, base in enumerate(bases):
            _wait_healthy(base, procs, f"web{n}", deadline)

        answers = asyncio.run(_post_checkins(bases, settings, openids, now()))
        assert [r.status_code for r in answers] == [200] * len(answers)

        for n in range(2):
            procs.start(f"worker{n}", "worker")
        # Just ahead of the workers' clock, so the ticks and the workers want the same rows.
        at = (now() + timedelta(seconds=5)).isoformat()
        ticks = [procs.start(f"tick{n}", "tick", "--at", at) for n in range(2)]
        for n, tick in enumerate(ticks):
            tick.wait(timeout=max(1, deadline - time.monotonic()))
            assert tick.returncode == 0, procs.output(f"tick{n}")
        while not _outbox_settled(engine) and time.monotonic() < deadline:
            time.sleep(0.3)

        with engine.connect() as conn:
            per_student = conn.execute(
                select(CheckIn.student_id, func.count()).group_by(CheckIn.student_id)
            ).all()
            rows = conn.execute(
                select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.upstream_id).where(
                    OutboxMessage.channel == "telegram"
                )
            ).all()
            late_replies = conn.execute(
                select(OutboxMessage.to_external_id, OutboxMessage.status).where(
                    OutboxMessage.channel == "wechat"
                )
            ).all()
            unsent = conn.execute(
                select(
                    OutboxMessage.kind,
                    OutboxMessage.status,
                    OutboxMessage.attempts,
                    OutboxMessage.next_attempt_at,
                    OutboxMessage.last_error,
                ).where(OutboxMessage.status != "sent")
            ).all()
    finally:
        procs.stop()
        fake.shutdown()
        engine.dispose()

    # Exactly one check-in per unique MsgId, duplicates across replicas notwithstanding.
    assert len(per_student) == WECHAT_STUDENTS and {n for _, n in per_student} == {1}
    # Every outbox row was sent, each exactly once: one upstream call per row, no extra call.
    assert {status for _, status, _ in rows} == {"sent"}, unsent[:5]
    assert sum(kind == "notice" for kind, _, _ in rows) == notices == TEACHERS * NOTICES_PER_TEACHER
    assert sum(kind == "nudge" for kind, _, _ in rows) == TELEGRAM_STUDENTS
    upstream = sorted(int(u) for _, _, u in rows)
    assert upstream == sorted(message_id for _, _, message_id in fake.sent)
    assert len({(chat, text) for chat, text, _ in fake.sent}) == len(fake.sent) == len(rows)
    # Answers that missed the passive-reply deadline went out once each through the outbox.
    assert {status for _, status in late_replies} <= {"sent"}
    assert sorted(to for to, _ in late_replies) == sorted(to for to, _ in fake.wechat_sent)
