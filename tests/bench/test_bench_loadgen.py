"""Both load generators against a tiny local server: every request sent at most once, one result
shape (wrk's tests skip when it is not installed)."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import report, wrk
from bench.webhook import _load

CLIENTS = [
    "python",
    pytest.param(
        "wrk", marks=pytest.mark.skipif(not shutil.which("wrk"), reason="wrk is not installed")
    ),
]
KEYS = {"sent", "ok", "errors", "statuses", "seconds", "rps", "p50_ms", "p99_ms", "client"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 64 connections open at once


def _serve(delay_s: float):
    """A keep-alive HTTP/1.1 server answering `success` after `delay_s`; counts request bodies."""
    seen: Counter = Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            seen[self.rfile.read(int(self.headers["Content-Length"])).decode()] += 1
            time.sleep(delay_s)
            self.send_response(200)
            self.send_header("Content-Length", "7")
            self.end_headers()
            self.wfile.write(b"success")

        def log_message(self, *args):
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def serve():
    servers = []

    def start(delay_s: float = 0.0):
        server, seen = _serve(delay_s)
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _requests(n: int) -> list[str]:
    return [
        f"POST /wechat HTTP/1.1\r\nHost: x\r\nContent-Length: {len(str(i))}\r\n\r\n{i}"
        for i in range(n)
    ]


@pytest.mark.parametrize("client", CLIENTS)
def test_every_request_is_sent_exactly_once(client, serve, monkeypatch):
    monkeypatch.setenv(wrk.ENV, client)
    base, seen = serve()
    result = _load(base, _requests(500), 64, 10)
    assert set(result) == KEYS
    assert result["client"] == client
    assert result["sent"] == result["ok"] == 500
    assert result["errors"] == 0 and result["statuses"] == {"200": 500}
    assert result["rps"] > 0 and result["p50_ms"] <= result["p99_ms"]
    assert sorted(seen) == sorted(str(i) for i in range(500)) and set(seen.values()) == {1}


@pytest.mark.parametrize("client", CLIENTS)
def test_the_deadline_stops_sending_but_answers_in_flight_are_counted(client, serve, monkeypatch):
    monkeypatch.setenv(wrk.ENV, client)
    base, seen = serve(delay_s=0.02)
    result = _load(base, _requests(5_000), 64, 0.5)
    assert 0 < result["sent"] < 5_000
    assert result["ok"] == result["sent"] == sum(seen.values()) and result["errors"] == 0
    assert set(seen.values()) == {1}


def test_the_client_is_chosen_by_path_and_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no wrk here
    assert not wrk.wanted()
    monkeypatch.setenv(wrk.ENV, "wrk")
    with pytest.raises(RuntimeError, match="not installed"):
        wrk.wanted()
    fake = tmp_path / "wrk"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert wrk.wanted()
    monkeypatch.setenv(wrk.ENV, "python")
    assert not wrk.wanted()


def test_the_report_names_the_client():
    results = {"db": "sqlite", "webhook": {"bare": {"rps": 10.0, "client": "wrk"}}}
    assert ("/wechat load generator", "wrk", "", "") in report.table_rows(results)
