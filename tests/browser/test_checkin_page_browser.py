"""The check-in page in a real Chromium: position granted (a device check-in), denied, expired."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlmodel import Session, select

from api.app import create_app
from bot.types import Inbound
from core.geo import gcj02_to_wgs84
from core.settings import Settings
from models import CheckIn
from models.db import make_engine
from tests.factories import GUIYANG, bind, make_student

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed"),
]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
WGS = gcj02_to_wgs84(*GUIYANG)  # what a phone's browser reports at the workplace


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(sqlite_url, now):
    """A real uvicorn on a free port; its public address is where the links point."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database={"url": sqlite_url},
        server={"secret_key": "browser-test", "cookie_secure": False, "public_url": base},
        scheduler={"enabled": False},
    )
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        student = make_student(session)
        bind(session, person_kind="student", person_id=student.id, school_id=student.school_id,
             external_id="openid-1", channel="wechat")  # fmt: skip
        session.commit()
    app = create_app(settings, engine=engine)
    clock = {"now": now}
    app.state.clock = lambda: clock["now"]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield app, engine, clock
    srv.should_exit = True
    thread.join(timeout=5)
    engine.dispose()


def _link(app, clock) -> str:
    inbound = Inbound(channel="wechat", user_id="openid-1", at=clock["now"], text="签到")
    (reply,) = app.state.pipeline(inbound)
    return next(word for word in reply.text.split() if "/checkin?t=" in word)


def _rows(engine) -> list[CheckIn]:
    with Session(engine) as session:
        return list(session.exec(select(CheckIn)).all())


def _open(browser, url: str, **context):
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, **context)
    page = ctx.new_page()
    page.set_default_timeout(10000)
    page.goto(url)
    return ctx, page


def test_granted_position_makes_a_device_check_in(browser, server):
    app, engine, clock = server
    ctx, page = _open(
        browser,
        _link(app, clock),
        geolocation={"latitude": WGS[0], "longitude": WGS[1], "accuracy": 12},
        permissions=["geolocation"],
    )
    page.locator("#status.ok").wait_for()
    assert "上班签到成功" in page.inner_text("#status")
    ctx.close()
    (row,) = _rows(engine)
    assert (row.evidence, row.datum, row.within_fence) == ("device", "wgs84", True)


def test_denied_position_says_how_to_allow_it(browser, server):
    app, engine, clock = server
    ctx, page = _open(browser, _link(app, clock), permissions=[])
    page.locator("#status.error").wait_for()
    assert "没有定位权限" in page.inner_text("#status")
    assert page.locator("#go").is_visible()  # the student can try again
    ctx.close()
    assert _rows(engine) == []


def test_an_expired_link_is_refused(browser, server):
    app, engine, clock = server
    url = _link(app, clock)
    clock["now"] += timedelta(minutes=11)
    ctx, page = _open(
        browser,
        url,
        geolocation={"latitude": WGS[0], "longitude": WGS[1], "accuracy": 12},
        permissions=["geolocation"],
    )
    assert "签到链接已过期" in page.inner_text("#status")
    assert not page.locator("#go").is_visible()
    ctx.close()
    assert _rows(engine) == []
