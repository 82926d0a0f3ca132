"""wrk as the load generator when it is installed (Debian's `wrk` package), else bench.loadgen.

The same contract as bench.loadgen: prebuilt raw requests, each sent at most once (bounded in
count and in time), one result dict with sent, ok (200), errors, seconds, rps, p50_ms, p99_ms,
statuses, plus "client". `SHIXI_BENCH_LOADGEN=python|wrk` forces one client.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

ENV = "SHIXI_BENCH_LOADGEN"
THREADS = 2
# wrk's own duration is only a backstop: the script stops each thread when its slice is done
# (or its deadline has passed and every request sent has its answer).
BACKSTOP_S = 10
DONE_MARK = "shixi-wrk-thread-done"

# Each wrk thread has its own Lua state: setup() (main state) numbers the threads, init() loads
# that thread's slice, request() hands out the next request (never one twice), response()
# counts statuses, done() (main state) sums the threads into one JSON line.
SCRIPT = r"""
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } shixi_timespec;
int clock_gettime(int clk_id, shixi_timespec *tp);
]]
local ts = ffi.new("shixi_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC: comparable between wrk's threads
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("id", #threads)
end

-- Per-thread globals, read by done() through thread:get().
sent, answered, first, last, statuses = 0, 0, 0, 0, {}
local slice, verified, deadline, finished = {}, true, 0, false

function init(args)
  local f = assert(io.open(DIR .. "/slice-" .. id .. ".bin", "rb"))
  local size = f:read("*l")
  while size do
    slice[#slice + 1] = f:read(tonumber(size))
    f:read(1) -- the newline after the request
    size = f:read("*l")
  end
  f:close()
  -- wrk calls request() once on its first thread to check that it parses; that one is not sent.
  verified = id ~= 1
end

local function finish()
  if not finished then
    finished = true
    io.write("DONE_MARK\n")
    io.stdout:flush()
  end
  wrk.thread:stop()
end

function request()
  if not verified then
    verified = true
    return slice[1]
  end
  if sent == 0 then
    first = now()
    deadline = first + MAX_S
  end
  if sent >= #slice or now() >= deadline then
    -- Nothing more to send: an empty write leaves this connection idle.
    if answered == sent then finish() end
    return ""
  end
  sent = sent + 1
  return slice[sent]
end

function response(status, headers, body)
  answered = answered + 1
  last = now()
  statuses[status] = (statuses[status] or 0) + 1
  if answered == sent and (sent >= #slice or last >= deadline) then finish() end
end

function done(summary, latency, requests)
  local total, got, t0, t1, counts = 0, 0, math.huge, 0, {}
  for _, t in ipairs(threads) do
    total = total + t:get("sent")
    got = got + t:get("answered")
    if t:get("sent") > 0 then
      t0 = math.min(t0, t:get("first"))
      t1 = math.max(t1, t:get("last"))
    end
    for status, n in pairs(t:get("statuses")) do counts[status] = (counts[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(counts) do parts[#parts + 1] = string.format('"%d": %d', status, n) end
  local ok = counts[200] or 0
  local seconds = t1 > t0 and t1 - t0 or 0
  local function ms(p)
    return got > 0 and string.format("%.2f", latency:percentile(p) / 1000) or "null"
  end
  -- Unanswered requests (a broken connection) and non-200 answers are errors, as in loadgen.
  local errors = summary.errors.connect + (total - got) + (got - ok)
  io.write(string.format(
    '{"sent": %d, "ok": %d, "errors": %d, "statuses": {%s}, "seconds": %.3f, "rps": %.1f, '
      .. '"p50_ms": %s, "p99_ms": %s, "client": "wrk"}\n',
    total, ok, errors, table.concat(parts, ", "), seconds, seconds > 0 and got / seconds or 0,
    ms(50), ms(99)))
end
"""


def wanted() -> bool:
    """wrk when installed and not forced to the Python client; forcing wrk without it fails."""
    choice = os.environ.get(ENV, "").strip().lower()
    if choice not in ("", "python", "wrk"):
        raise RuntimeError(f"{ENV} must be python or wrk, not {choice!r}")
    found = shutil.which("wrk") is not None
    if choice == "wrk" and not found:
        raise RuntimeError(f"{ENV}=wrk but wrk is not installed (apt-get install wrk)")
    return found and choice != "python"


def _write_slices(directory: Path, requests: list[str], threads: int) -> None:
    """Thread i (1-based) gets every threads-th request, each framed as `<bytes>\\n<request>\\n`."""
    for i in range(threads):
        with open(directory / f"slice-{i + 1}.bin", "wb") as fh:
            for req in requests[i::threads]:
                raw = req.encode("utf-8")
                fh.write(b"%d\n%s\n" % (len(raw), raw))


def _script(directory: Path, max_s: float) -> str:
    head = f"DIR = {json.dumps(str(directory))}\nMAX_S = {float(max_s)!r}\n"
    return head + SCRIPT.replace("DONE_MARK", DONE_MARK)


def run(requests: list[str], host: str, port: int, connections: int, max_s: float) -> dict:
    """Send `requests` through wrk over `connections` keep-alive connections; wrk's result."""
    threads = min(THREADS, connections, len(requests))
    duration = int(max_s) + BACKSTOP_S
    with tempfile.TemporaryDirectory(prefix="shixi-wrk-") as tmp:
        directory = Path(tmp)
        _write_slices(directory, requests, threads)
        (directory / "script.lua").write_text(_script(directory, max_s), "utf-8")
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s"]
        # A timeout as long as the run: wrk leaves slower answers out of its latency histogram.
        cmd += [f"--timeout={duration}s", "--latency", "-s", str(directory / "script.lua")]
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(
                [*cmd, f"http://{host}:{port}"], stdout=subprocess.PIPE, stderr=err, text=True
            )
            watchdog = threading.Timer(duration + 60, proc.kill)
            watchdog.start()
            try:
                lines = _until_done(proc, threads)
            finally:
                watchdog.cancel()
            err.seek(0)
            if proc.returncode != 0 or not lines or not lines[-1].startswith("{"):
                raise RuntimeError(f"wrk failed ({proc.returncode}): {err.read()[-2000:]}")
    return json.loads(lines[-1])


def _until_done(proc: subprocess.Popen, threads: int) -> list[str]:
    """wrk's output lines; interrupts wrk once every thread is done instead of waiting `-d`.

    wrk always sleeps for its whole duration; SIGINT ends that sleep and it then prints its
    summary and our done() line. The signal is sent only after wrk's "Running" line, which it
    prints after installing its SIGINT handler.
    """
    lines, running, finished, signalled = [], False, 0, False
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.strip()
        lines.append(line)
        running = running or line.startswith("Running")
        finished += line == DONE_MARK
        if running and finished == threads and not signalled:
            proc.send_signal(signal.SIGINT)
            signalled = True
    proc.wait()
    return [line for line in lines if line and line != DONE_MARK]
