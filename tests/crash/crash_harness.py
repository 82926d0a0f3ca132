"""A real `shixi serve` (web only) that can be SIGKILLed, and WeChat-like concurrent senders.

A flow is one person's messages, sent in order, each waiting for the answer to the one before
(as a phone does). Senders take flows from a shared queue. WeChat's retry of a message is the
same request again (same MsgId, timestamp, nonce and signature), so a resend reuses the bytes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.callbacks import Callback
from bench.webhook import server_env

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 60
REQUEST_TIMEOUT_S = 60  # WeChat gives up after 5 s; here a slow answer must still be seen
RETRIES = 3  # WeChat retries a message three times


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`shixi serve --no-scheduler` on a fixed loopback port, its output in a log file."""

    def __init__(self, url: str, log_path: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **server_env(url), "PYTHONPATH": str(ROOT)}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "api.cli", "serve", "--no-scheduler"]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"shixi serve exited:\n{self.log()[-3000:]}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"shixi serve did not answer:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, whatever was in flight is cut off."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def stop(self) -> None:
        """A clean stop (SIGTERM): work left after an answer finishes first."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Message:
    callback: Callback
    what: str  # for failure reports: 日报, part 1, 维权 ...
    status: int | None = None
    body: str = ""
    phase: int = 0  # 1: answered before the kill, 2: after the restart

    @property
    def answered(self) -> bool:
        return self.status == 200

    @property
    def empty_answer(self) -> bool:
        """An answer that tells the user nothing ("success"): WeChat will not retry it."""
        return self.answered and self.body.strip() in ("", "success")


@dataclass
class Flow:
    kind: str
    openid: str
    person_id: int
    messages: list[Message]
    expect: dict = field(default_factory=dict)  # what its effect must look like

    def pending(self) -> list[Message]:
        return [m for m in self.messages if not m.answered]


async def send_flows(
    base: str,
    flows: list[Flow],
    *,
    senders: int,
    phase: int,
    retries: int = 0,
    on_answer: Callable[[], None] = lambda: None,
    stop: asyncio.Event | None = None,
) -> None:
    """Send every pending message of the flows from `senders` concurrent senders.

    A flow stops at a message that gets no 200 (after `retries` more tries): its later
    messages wait for the next phase, as a user waits for an answer before going on.
    """
    queue = deque(flows)
    stop = stop or asyncio.Event()
    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)

    async def post(client: httpx.AsyncClient, msg: Message) -> bool:
        for attempt in range(retries + 1):
            if stop.is_set():
                return False
            try:
                resp = await client.post(
                    f"{base}/wechat?{msg.callback.query}",
                    content=msg.callback.body.encode(),
                    headers={"Content-Type": "text/xml"},
                )
            except httpx.TransportError:
                if attempt < retries:
                    await asyncio.sleep(0.2)
                continue
            if resp.status_code == 200:
                msg.status, msg.body, msg.phase = 200, resp.text, phase
                on_answer()
                return True
            msg.status, msg.body = resp.status_code, resp.text
        return False

    async def sender(client: httpx.AsyncClient) -> None:
        while queue and not stop.is_set():
            flow = queue.popleft()
            for msg in flow.pending():
                if not await post(client, msg):
                    break

    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        await asyncio.gather(*(sender(client) for _ in range(senders)))


def interleave(groups: list[list[Flow]]) -> list[Flow]:
    """Round-robin over the groups, so that every moment of the load is a mix of kinds."""
    out, longest = [], max(len(g) for g in groups)
    for i in range(longest):
        out.extend(g[i] for g in groups if i < len(g))
    return out
