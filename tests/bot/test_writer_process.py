"""The pipeline's writer in a process of its own (bot/writer_process.py): a served app answers
as it does in one process, and a writer process that dies hands its messages back."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.app import create_app
from bot.pipeline import Pipeline, writer_mode
from bot.types import Inbound, Location
from core.settings import Settings
from models import CheckIn, InboundSeen
from tests.factories import GUIYANG, bound_student

sys.path.insert(0, str(Path(__file__).parent.parent / "api"))
from wechat_craft import craft, fixture, open_reply

OPENID = "oWriterProcess000000000001"


def _with_writer(settings: Settings, writer: str) -> Settings:
    return settings.model_copy(
        update={"server": settings.server.model_copy(update={"writer": writer})}
    )


@pytest.fixture
def student(session):
    return bound_student(session, external_id=OPENID)


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _location(now) -> Inbound:
    point = Location(GUIYANG[0], GUIYANG[1], "gcj02", label="林城西路")
    return Inbound(
        channel="wechat", user_id=OPENID, at=now, kind="location", location=point, intent="checkin"
    )


@pytest.mark.parametrize(
    ("writer", "serving", "url", "cores", "expected"),
    [
        ("auto", True, "sqlite:////tmp/x.db", 2, "process"),
        ("auto", True, "postgresql+psycopg://u@h/db", 8, "process"),
        ("auto", False, "sqlite:////tmp/x.db", 2, "thread"),  # an app inside a test or a tool
        ("auto", True, "sqlite:////tmp/x.db", 1, "thread"),  # no second core to give it
        ("auto", True, "sqlite://", 2, "thread"),  # another process cannot open it
        ("auto", True, "sqlite:///:memory:", 2, "thread"),
        ("process", False, "sqlite:////tmp/x.db", 1, "process"),
        ("thread", True, "postgresql+psycopg://u@h/db", 8, "thread"),
    ],
)
def test_where_the_writer_runs(monkeypatch, writer, serving, url, cores, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    settings = Settings(database={"url": url}, server={"writer": writer})
    assert writer_mode(settings, serving=serving) == expected


def test_a_served_app_writes_in_its_writer_process_and_answers_the_same(
    settings, engine, student, now
):
    app = create_app(_with_writer(settings, "auto"), engine=engine, serving=True)
    app.state.clock = lambda: now
    app.state.wechat.budget_s = 30  # the writer process loads jieba's dictionary first
    pipeline = app.state.pipeline
    xml = fixture("location.xml", FromUserName=OPENID, MsgId="24500000000000001",
                  Location_X=f"{GUIYANG[0]:.6f}", Location_Y=f"{GUIYANG[1]:.6f}")  # fmt: skip
    params, body = craft(settings, xml, at=now, mode="safe")
    with TestClient(app) as client:
        child = pipeline.process._proc
        assert child.poll() is None and child.pid != os.getpid()
        first = client.post("/wechat", params=params, content=body)
        again = client.post("/wechat", params=params, content=body)  # WeChat's retry
        assert first.status_code == again.status_code == 200
        reply = open_reply(settings, first.text)["Content"]
        assert reply.startswith("上班签到成功：09:00"), reply
        assert open_reply(settings, again.text)["Content"] == reply
        status = craft(
            settings,
            fixture("text.xml", FromUserName=OPENID, MsgId="24500000000000002", Content="状态"),
            at=now,
            mode="safe",
        )
        answer = open_reply(
            settings, client.post("/wechat", params=status[0], content=status[1]).text
        )
        assert "今天：上班 09:00" in answer["Content"], answer
        assert pipeline.writers[0].jobs == 0  # nothing was written in this process
    assert child.wait(10) == 0  # the app's shutdown stopped it
    assert _count(engine, CheckIn) == 1
    assert _count(engine, InboundSeen) == 2


def test_a_message_the_writer_process_died_with_is_written_here_once(
    settings, engine, student, now, db_url
):
    if not db_url.startswith("sqlite"):
        pytest.skip("holds SQLite's write lock to keep the message inside the writer process")
    pipeline = Pipeline(engine, _with_writer(settings, "process"), writer="process")
    pipeline.start()
    process = pipeline.process
    child = process._proc
    lock = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=30)
    lock.execute("BEGIN IMMEDIATE")  # the writer process reads, then waits to write

    async def scenario():
        first = asyncio.ensure_future(pipeline.submit(_location(now), "msg:died", mode="passive"))
        await asyncio.sleep(2)  # let the writer process take it (not relied upon)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        lock.rollback()
        handled = await asyncio.wait_for(first, 60)
        retried = await asyncio.wait_for(
            pipeline.submit(_location(now), "msg:died", mode="passive"), 60
        )
        return handled, retried

    try:
        handled, retried = asyncio.run(scenario())
    finally:
        lock.close()
        pipeline.close()
    assert handled.status == "done"
    assert handled.answer.startswith("上班签到成功：09:00")
    assert (retried.status, retried.answer) == ("duplicate", handled.answer)
    assert process.failed  # and this process writes from now on
    assert _count(engine, CheckIn) == 1


def test_closing_waits_for_what_the_writer_process_was_sent(settings, engine, student, now):
    pipeline = Pipeline(engine, _with_writer(settings, "process"), writer="process")
    pipeline.start()
    child = pipeline.process._proc

    async def scenario():
        sent = [
            asyncio.ensure_future(pipeline.submit(_location(now), f"msg:{n}", mode="return"))
            for n in range(5)
        ]
        await asyncio.sleep(0)  # each is on its way
        await asyncio.to_thread(pipeline.close)
        return await asyncio.wait_for(asyncio.gather(*sent), 60)

    results = asyncio.run(scenario())
    assert [r.status for r in results] == ["done"] * 5
    assert pipeline.writers[0].jobs == 0  # all answered by the writer process
    assert child.poll() == 0
    assert _count(engine, InboundSeen) == 5


def test_the_writer_process_imports_no_http_client_nor_jiebas_tagger():
    """Memory (bench/memory.py): what the writer process loads to run every kind of message,
    a journal's keywords included, leaves out what only the web process or nothing needs."""
    code = (
        "import sys, bot.writer_process, bot.pipeline, models.db\n"
        "from core import text, intents, classify\n"
        "intents.detect('公司两个月没发工资了')\n"
        "text.keywords('今天跟着师傅学习更换机油和滤清器')\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('pkg_resources', 'geopy', 'requests', 'aiohttp', 'httpx', 'fastapi', 'wechatpy')"
        " or m.startswith(('jieba.posseg', 'jieba.analyse')))))"
    )
    project = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == []


def test_messages_and_answers_cross_as_their_fields(now):
    """What crosses the socket pickles as the class called with its fields (bot.types.
    pickled_by_fields), and comes back equal."""
    import pickle

    from bot.pipeline import Handled
    from bot.types import Reply

    inbound = Inbound("wechat", "o1", now, location=Location(26.5, 106.7, "gcj02", label="厂区"))
    handled = Handled("done", (Reply("已签到", buttons=("状态",)),), "已签到", (7,))
    for value in (inbound, handled):
        assert value.__reduce__() == (
            type(value),
            tuple(getattr(value, f) for f in value.__slots__),
        )
        assert pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL)) == value
