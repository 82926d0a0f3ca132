"""`shixi worker`: runs the sweeps and the sender until SIGTERM, then stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler.sweeps import run_sweeps

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_worker_stops_cleanly_on_a_signal(sqlite_url, sig):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIXI_")}
    env |= {
        "SHIXI_DATABASE__URL": sqlite_url,
        "SHIXI_TELEGRAM__TOKEN": "",
        "SHIXI_WECHAT__TOKEN": "",
        "SHIXI_SCHEDULER__ENABLED": "true",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        line = ""
        while "已启动" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "已启动" in line  # its signal handlers are in place before this line
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "已停止" in out


def test_sweeps_refuse_a_naive_time(engine, settings):
    from datetime import datetime

    with pytest.raises(ValueError, match="timezone-aware"):
        run_sweeps(engine, settings, datetime(2026, 3, 2, 9, 30))
