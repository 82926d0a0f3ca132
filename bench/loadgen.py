"""A separate-process HTTP/1.1 load generator: N keep-alive connections, prebuilt requests.

Run as `python -m bench.loadgen <requests.json> <host> <port> <connections> <max_seconds>`;
prints one JSON line: sent, ok (200), errors, seconds, rps, p50_ms, p99_ms, statuses and
"client": "python". Every request is sent at most once (bounded in count and in time).
bench.wrk prints the same line with "client": "wrk"; bench.webhook uses wrk when installed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter


async def _worker(host, port, requests, cursor, deadline, latencies, statuses, errors):
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        errors["connect"] += 1
        return
    try:
        while time.perf_counter() < deadline:
            i = cursor[0]
            if i >= len(requests):
                return
            cursor[0] = i + 1
            t0 = time.perf_counter()
            writer.write(requests[i])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            statuses[status] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        errors["io"] += 1
    finally:
        writer.close()


async def run(requests: list[bytes], host: str, port: int, connections: int, max_s: float):
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: Counter = Counter()
    cursor = [0]
    t0 = time.perf_counter()
    deadline = t0 + max_s
    await asyncio.gather(
        *(
            _worker(host, port, requests, cursor, deadline, latencies, statuses, errors)
            for _ in range(connections)
        )
    )
    seconds = time.perf_counter() - t0
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

    return {
        "sent": cursor[0],
        "ok": statuses.get(200, 0),
        "errors": sum(errors.values()) + sum(n for s, n in statuses.items() if s != 200),
        "statuses": {str(k): v for k, v in statuses.items()},
        "seconds": round(seconds, 3),
        "rps": round(len(latencies) / seconds, 1) if seconds else 0.0,
        "p50_ms": pct(0.50) if latencies else None,
        "p99_ms": pct(0.99) if latencies else None,
        "client": "python",
    }


def main(argv: list[str]) -> None:
    path, host, port, connections, max_s = argv
    with open(path, encoding="utf-8") as fh:
        requests = [r.encode("utf-8") for r in json.load(fh)]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(requests, host, int(port), int(connections), float(max_s)))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
