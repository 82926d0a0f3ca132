"""Screenshots of the three dashboards (province, school, teacher) at 1366x900 and 390x844.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

A demo province in a temporary SQLite file, the real app under uvicorn on a free loopback
port, Chromium (/usr/bin/chromium) driven by Playwright. The clock is pinned to a Tuesday
morning so the pictures do not change with the day they are taken.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn

from api.app import create_app
from api.commands.demo import DEMO_PASSWORD, DEMO_TEACHER, generate_demo
from core.settings import Settings
from models.db import make_engine
from models.migrate import upgrade

CHROMIUM = "/usr/bin/chromium"
NOW = datetime(2026, 3, 3, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
ROLES = (("province", "admin"), ("school", "gzjt"), ("teacher", DEMO_TEACHER))
VIEWPORTS = (("desktop", 1366, 900), ("phone", 390, 844))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--students", type=int, default=1500)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/demo.db"
        settings = Settings(
            database={"url": url},
            server={"secret_key": "screenshots", "cookie_secure": False},
            scheduler={"enabled": False},
            wechat={"token": ""},
            telegram={"token": ""},
        )
        engine = make_engine(url)
        upgrade(engine)
        generate_demo(settings, engine, students=args.students, days=30, seed=2019, now=NOW)
        app = create_app(settings, engine=engine)
        app.state.clock = lambda: NOW
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            _shoot(f"http://127.0.0.1:{port}", out)
        finally:
            server.should_exit = True
            thread.join(timeout=5)
            engine.dispose()


def _shoot(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for role, username in ROLES:
            for name, width, height in VIEWPORTS:
                context = browser.new_context(
                    locale="zh-CN", viewport={"width": width, "height": height},
                    device_scale_factor=1, is_mobile=name == "phone", has_touch=name == "phone",
                )  # fmt: skip
                page = context.new_page()
                page.goto(base + "/admin/login")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(base + "/admin/")
                page.wait_for_timeout(1200)  # charts animate in
                path = out / f"dashboard-{role}-{name}.png"
                page.screenshot(path=str(path), full_page=True)
                print(f"wrote {path}")
                context.close()
        browser.close()


if __name__ == "__main__":
    main()
