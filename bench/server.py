"""Start an ASGI app under uvicorn in a subprocess, wait until it answers, stop it afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_flags() -> list[str]:
    """The same server settings for every app measured: uvloop and httptools when installed."""
    flags = ["--no-access-log", "--log-level", "warning"]
    try:
        import uvloop  # noqa: F401

        flags += ["--loop", "uvloop"]
    except ImportError:
        pass
    try:
        import httptools  # noqa: F401

        flags += ["--http", "httptools"]
    except ImportError:
        pass
    return flags


def children(pid: int) -> list[int]:
    """The child processes of `pid` (the app's writer process), from /proc ([] without it)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:  # the thread ended meanwhile
            pass
    return found


@contextmanager
def uvicorn_server(target: str, *, env: dict | None = None, factory: bool = True, ready="/healthz"):
    """Yield (base_url, Popen) for `target` served on a free loopback port."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    cmd += (["--factory"] if factory else []) + server_flags()
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    log = tempfile.TemporaryFile(mode="w+")  # a pipe nobody reads could block the server
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=log, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{target} did not start:\n{log.read()[-3000:]}")
            try:
                if httpx.get(base + ready, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target} did not answer within 60 s")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
