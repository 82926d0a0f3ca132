"""The console over HTTP against a real server: sign-in, dashboard first load and later loads.

Per role (province, a school admin, a teacher): `login` is the POST that checks the password
and sets the cookie; `first load` is what a new browser fetches for the dashboard (the page,
then every stylesheet, script and the map it names, gzip accepted, nothing cached), one after
another, so an upper bound of what a browser does in parallel; `later load` is the page alone,
as assets come from the browser's cache (immutable, hashed URLs). The dashboard snapshots are
fresh, as the worker keeps them.
"""

from __future__ import annotations

import re
import statistics
import time

import httpx
from sqlmodel import Session, select

from bench.common import at_local, bench_settings
from bench.server import uvicorn_server
from core.accounts import create_user
from core.stats import PROVINCE, SCHOOL_PREFIX, scope_user, slow_figures
from models import ConsoleUser, School, Teacher
from models.db import make_engine
from models.stats import store_snapshot

PASSWORD = "bench-console-42"
RUNS = 7
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')
MAP = re.compile(r'"(/static/vendor/guizhou\.geojson\?v=[0-9a-f]+)"')


def _users(session: Session) -> dict[str, str]:
    school = session.execute(select(School).order_by(School.id).limit(1)).scalar_one()
    teacher = session.execute(
        select(Teacher).where(Teacher.school_id == school.id).order_by(Teacher.id).limit(1)
    ).scalar_one()
    wanted = {
        "province": dict(role="province"),
        "school": dict(role="school", school_name=school.name),
        "teacher": dict(role="teacher", school_name=school.name, phone=teacher.phone),
    }
    names = {}
    for label, kw in wanted.items():
        username = f"bench-{label}"
        if not session.execute(select(ConsoleUser).where(ConsoleUser.username == username)).first():
            create_user(session, username=username, password=PASSWORD, **kw)
        names[label] = username
    session.commit()
    return names


def _login(client: httpx.Client, username: str) -> float:
    page = client.get("/admin/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    t0 = time.perf_counter()
    resp = client.post(
        "/admin/login", data={"username": username, "password": PASSWORD, "csrf": csrf}
    )
    elapsed = time.perf_counter() - t0
    if resp.status_code != 303:
        raise RuntimeError(f"login of {username} answered {resp.status_code}")
    return elapsed * 1000


def _first_load(base: str, username: str) -> dict:
    with httpx.Client(base_url=base, headers={"Accept-Encoding": "gzip"}) as client:
        _login(client, username)
        t0 = time.perf_counter()
        page = client.get("/admin/")
        html_ms = (time.perf_counter() - t0) * 1000
        urls = ASSET.findall(page.text) + MAP.findall(page.text)
        wire = len(page.content)
        for url in dict.fromkeys(urls):
            resp = client.get(url)
            resp.raise_for_status()
            wire += int(resp.headers.get("content-length", len(resp.content)))
        total_ms = (time.perf_counter() - t0) * 1000
    return {"html_ms": round(html_ms, 1), "total_ms": round(total_ms, 1), "bytes": wire}


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def run(url: str, *, today, log=print) -> dict:
    settings = bench_settings(url)
    now = at_local(today, "10:00")
    engine = make_engine(url)
    with Session(engine) as session:
        names = _users(session)
        school_id = session.execute(select(School.id).order_by(School.id).limit(1)).scalar_one()
        for scope in (PROVINCE, f"{SCHOOL_PREFIX}{school_id}"):  # as the worker keeps them
            figures = slow_figures(session, scope_user(scope), today=today, settings=settings)
            store_snapshot(session, scope=scope, day=today, computed_at=now, figures=figures)
        session.commit()
    engine.dispose()
    env = {
        "SHIXI_DATABASE__URL": url,
        "SHIXI_SCHEDULER__ENABLED": "false",
        "SHIXI_SERVER__COOKIE_SECURE": "false",
        "SHIXI_SERVER__SECRET_KEY": "bench-console",
        "SHIXI_WECHAT__TOKEN": "",
        "SHIXI_TELEGRAM__TOKEN": "",
        "SHIXI_BENCH_NOW": now.isoformat(),
    }
    result: dict = {}
    with uvicorn_server("bench.console_app:app_factory", env=env) as (base, _):
        for role, username in names.items():
            with httpx.Client(base_url=base) as client:
                logins = [_login(client, username) for _ in range(RUNS)]
                later = []
                for _ in range(RUNS):
                    t0 = time.perf_counter()
                    client.get("/admin/").raise_for_status()
                    later.append((time.perf_counter() - t0) * 1000)
            first = [_first_load(base, username) for _ in range(3)]
            result[role] = {
                "login_ms": _median(logins),
                "first_load_ms": _median([f["total_ms"] for f in first]),
                "first_load_html_ms": _median([f["html_ms"] for f in first]),
                "first_load_bytes": first[0]["bytes"],
                "later_load_ms": _median(later),
            }
            r = result[role]
            log(
                f"  {role}: login {r['login_ms']} ms, first load {r['first_load_ms']} ms "
                f"({r['first_load_bytes']:,} bytes), later load {r['later_load_ms']} ms"
            )
    return result
