"""Server memory: resident set size of a running `shixi serve`-like server (its web process and
its writer process), jieba loaded."""

from __future__ import annotations

from pathlib import Path

import httpx

from bench.callbacks import Crafter
from bench.population import STUDENT_OPENID, add_students
from bench.server import children, uvicorn_server
from bench.webhook import server_env

# Free text goes through intent detection and ticket classification (jieba); a daily report
# submitted in one message takes its keywords (jieba's IDF table).
TEXTS = (
    "我想反馈一下，公司已经两个月没发工资了",
    "每天加班到晚上十点，也没有加班费，怎么办",
    "车间的安全防护不到位，我有点担心",
    "状态",
    "帮助",
    "日报 今天在车间跟着师傅学习汽车保养，更换了机油和机油滤清器，检查了刹车片的磨损情况，"
    "还学会了使用举升机。师傅讲解得很耐心，我把操作要点都记在了本子上，明天继续练习。",
)


def rss_mb(pid: int) -> float | None:
    """VmRSS of a process in MB, from /proc (None where /proc is missing)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def server_rss_mb(pid: int) -> float | None:
    """The server's RSS with its writer process (bot/writer_process.py) and any other child."""
    own = rss_mb(pid)
    if own is None:
        return None
    return round(own + sum(rss_mb(child) or 0 for child in children(pid)), 1)


def _text_message(base: str, openid: str, content: str) -> int:
    """A free-text callback in safe mode (the bench account has an AES key: plaintext is
    refused)."""
    callback = Crafter().text(openid, content)
    resp = httpx.post(f"{base}/wechat?{callback.query}", content=callback.body.encode(), timeout=30)
    return resp.status_code


def run(url: str, *, messages: int = 42, log=print) -> dict:
    """Start the real app, send free text and locations, then read its RSS."""
    ids = add_students(url, 10)
    with uvicorn_server("api.asgi:app_factory", env=server_env(url)) as (base, proc):
        idle = server_rss_mb(proc.pid)
        statuses = [
            _text_message(base, STUDENT_OPENID.format(ids[i % len(ids)]), TEXTS[i % len(TEXTS)])
            for i in range(messages)
        ]
        loaded = server_rss_mb(proc.pid)
        own = rss_mb(proc.pid)
    result = {
        "rss_idle_mb": idle,
        "rss_after_mb": loaded,
        "rss_web_process_mb": own,
        "requests": messages,
        "ok": statuses.count(200),
    }
    log(
        f"  server RSS (with its writer process): {idle} MB idle, {loaded} MB after {messages}"
        f" text messages ({own} MB of it the web process)"
    )
    return result
