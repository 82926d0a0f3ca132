"""The console in a real Chromium: sign in, charts drawn, grade, resolve, upload a roster."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

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
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROSTER = (
    "学号,姓名,学校,实习单位,纬度,经度,上班时间,下班时间,开始日期,结束日期\n"
    "A200,林好,贵州交通职业技术学院,贵阳汽车服务有限公司,26.57,106.71,09:00,18:00,2026-03-01,"
    "2026-07-31\n"
    "A201,林坏,贵州交通职业技术学院,贵阳汽车服务有限公司,26.57,106.71,09:00,18:00,2026-03-01,"
    "2026-02-01\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(sqlite_url, now):
    """A real uvicorn serving the app on a free port, against a SQLite file with factory data."""
    settings = Settings(
        database={"url": sqlite_url},
        server={"secret_key": "browser-test", "cookie_secure": False},
        scheduler={"enabled": False},
    )
    engine = make_engine(sqlite_url)
    with Session(engine, expire_on_commit=False) as session:
        world = build_world(session, now)
    app = create_app(settings, engine=engine)
    app.state.clock = lambda: now
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", world
    srv.should_exit = True
    thread.join(timeout=5)
    engine.dispose()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(5000)
    base, _ = server
    page.goto(base + "/admin/")
    page.fill("input[name=username]", "school_a")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/admin/")
    yield page
    context.close()


def test_the_dashboard_draws_its_charts(page):
    assert page.locator("text=本校实习总览").is_visible()
    page.locator("#chart-map[data-drawn='1'] canvas").wait_for()
    for chart in ("chart-gender", "chart-trend", "chart-map", "chart-majors", "chart-salary"):
        size = page.evaluate(
            """id => { const el = document.getElementById(id);
                       const inst = echarts.getInstanceByDom(el);
                       const canvas = el.querySelector('canvas');
                       return inst && canvas ? [canvas.width, canvas.height] : null; }""",
            chart,
        )
        assert size and size[0] > 0 and size[1] > 0, chart
    title = page.get_attribute("[data-rate=checkin]", "title")
    assert "应签到" in title
    assert page.locator("#feed li").count() >= 1


def test_a_teacher_grades_a_journal(page, server):
    base, world = server
    page.goto(base + "/admin/journals")
    page.click(f"a[href='/admin/journals/{world.ids['mine']['journal']}']")
    page.fill("input[name=score]", "92")
    page.click("button[data-fill='观察细致，继续保持。']")  # a ready-made comment
    assert page.input_value("textarea[name=comment]") == "观察细致，继续保持。"
    page.click("#save-next")  # on to the colleague's student's journal, still waiting
    assert page.locator("#graded-prev").is_visible() and "graded_prev=" in page.url
    page.goto(base + f"/admin/journals/{world.ids['mine']['journal']}")
    assert page.locator("text=当前：92 分").is_visible()


def test_a_ticket_is_resolved(page, server):
    base, world = server
    page.goto(f"{base}/admin/tickets/{world.ids['mine']['ticket']}")
    page.fill("textarea[name=note]", "已与企业沟通，工资补发")
    page.click("button[value=resolve]")
    assert page.locator("#status").inner_text() == "已解决"
    assert page.locator("text=已与企业沟通，工资补发").is_visible()


def test_a_roster_with_a_bad_row_shows_the_reason(page, server, tmp_path):
    base, _ = server
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    page.goto(base + "/admin/roster")
    page.set_input_files("input[name=file]", str(path))
    page.click("form[action='/admin/roster'] button[type=submit]")
    assert page.locator("#accepted-count").inner_text() == "1"
    assert page.locator("#rejected-count").inner_text() == "1"
    reason = page.locator("#rejected tbody tr").inner_text()
    assert "3" in reason and "日期" in reason


def test_console_pages_break_no_rule_of_their_content_security_policy(page, server):
    """Every page the CSP covers loads its scripts and styles without a violation."""
    base, world = server
    page.add_init_script(
        """window.__csp = [];
           document.addEventListener('securitypolicyviolation',
             e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""
    )
    page.goto(base + "/admin/invites")
    page.click("form[action='/admin/invites'] button[type=submit]")
    for path in ("/admin/", f"/admin/invites/{world.ids['mine']['class']}", "/admin/students",
                 f"/admin/students/{world.ids['mine']['student']}", "/admin/users",
                 "/admin/privacy", "/privacy"):  # fmt: skip
        response = page.goto(base + path)
        assert "content-security-policy" in response.headers, path
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], path
    page.goto(f"{base}/admin/invites/{world.ids['mine']['class']}")
    page.evaluate("window.print = () => { window.__printed = true; }")
    page.click("button[data-print]")
    assert page.evaluate("window.__printed") is True  # the handler came from /static/print.js
