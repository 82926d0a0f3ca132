"""Every role's console in Chromium at 1366x900 and 390x844: no sideways scrolling on any page,
the role's to-do items linked, the map drawn, no status or channel codes, Beijing time."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from sqlmodel import Session

from api.app import create_app
from core.settings import Settings
from models.db import make_engine
from tests.api.console_world import PASSWORD, build_world

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed"),
]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
USERS = {"province": "province", "school": "school_a", "teacher": "teacher_a"}
# The to-do items each role must see (leave and findings join when their tables exist).
TODOS = {
    "province": ("tickets", "alerts"),
    "school": ("absent", "journals", "tickets", "alerts", "unbound"),
    "teacher": ("absent", "journals", "tickets", "alerts"),
}
# Codes that must never reach a page's text: statuses, channels, kinds.
CODES = re.compile(
    r"\b(open|missing|wechat|telegram|acknowledged|handling|resolved|submitted|graded|pending|"
    r"approved|rejected|urgent|lost_contact|outside_fence|checked_in|weekly|daily|wages|start)\b"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, sqlite_template):
    """One real uvicorn for the module, on a copy of the migrated template with factory data."""
    path = tmp_path_factory.mktemp("roles") / "shixi.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    settings = Settings(
        database={"url": url},
        server={"secret_key": "browser-roles", "cookie_secure": False},
        scheduler={"enabled": False},
        wechat={"token": ""},
        telegram={"token": ""},
    )
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        world = build_world(session, NOW)
    app = create_app(settings, engine=engine)
    app.state.clock = lambda: NOW
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{srv.config.port}", world
    srv.should_exit = True
    thread.join(timeout=5)
    engine.dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _pages(role: str, world) -> list[str]:
    mine = world.ids["mine"]
    pages = [
        "/admin/",
        "/admin/students",
        f"/admin/students/{mine['student']}",
        "/admin/checkins",
        "/admin/checkins?status=missing",
        "/admin/journals",
        f"/admin/journals/{mine['journal']}",
        "/admin/tickets",
        f"/admin/tickets/{mine['ticket']}",
        "/admin/alerts",
        f"/admin/alerts/{mine['alert']}",
        "/admin/invites",
        "/admin/compliance",
        "/admin/reports",
    ]
    if role != "province":  # binding codes are credentials: the province reads none
        pages.append(f"/admin/invites/{mine['class']}")
    if role in ("province", "school"):
        pages += ["/admin/roster", "/admin/users"]
    if role == "school":
        pages.append("/admin/privacy")
    return pages


def _signed_in(browser, base: str, role: str, viewport: str):
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(
        locale="zh-CN", timezone_id="UTC", viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.set_default_timeout(8000)
    page.goto(base + "/admin/login")
    page.fill("input[name=username]", USERS[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/admin/")
    return context, page


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("role", list(USERS))
def test_every_page_fits_the_screen_and_speaks_chinese(browser, server, role, viewport):
    base, world = server
    context, page = _signed_in(browser, base, role, viewport)
    try:
        for path in _pages(role, world):
            response = page.goto(base + path)
            assert response.status == 200, path
            wide = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert wide[0] <= wide[1], f"{path} is {wide[0]} px wide at {viewport}"
            text = page.inner_text("body")
            codes = CODES.findall(text)
            assert not codes, f"{path} shows {codes}"
    finally:
        context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("role", list(USERS))
def test_the_dashboard_lists_the_roles_to_dos_draws_the_map_and_shows_beijing_time(
    browser, server, role, viewport
):
    base, _ = server
    context, page = _signed_in(browser, base, role, viewport)
    try:
        # First paint, before any script polls: the feed's newest check-in was at 08:55 Beijing.
        first = page.locator("#feed time").first.inner_text()
        assert first == "08:55", first
        for key in TODOS[role]:
            link = page.locator(f"#todo-{key}")
            assert link.count() == 1, key
            href = link.get_attribute("href")
            assert href.startswith("/admin/"), href
        others = {k for keys in TODOS.values() for k in keys} - set(TODOS[role])
        for key in others - {"absent", "journals", "unbound"} & others:
            assert page.locator(f"#todo-{key}").count() == 0, key
        page.locator("#chart-map[data-drawn='1'] canvas").wait_for()
        if role == "province":
            assert page.locator("#ranking-school li").count() == 2
        if role == "school":
            assert page.locator("#ranking-class li").count() >= 1
            assert page.locator("#ranking-teacher li").count() >= 1
        if role == "teacher":
            assert page.locator("#week tbody tr").count() == 1
        # Following a to-do lands on its list.
        page.click(f"#todo-{TODOS[role][-1]}")
        assert page.locator("h1").count() == 1 and page.url.startswith(base + "/admin/")
        if viewport == "phone":
            page.goto(base + "/admin/")
            assert not page.locator("#main-nav").is_visible()
            page.click("#menu-toggle")
            assert page.locator("#main-nav a[href='/admin/students']").is_visible()
    finally:
        context.close()
