"""`python -m bench [--quick] [--db sqlite|postgresql|both] [--scale F] [--days N] [--requests N]
[--only SECTIONS] [--kinds KINDS]`."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import report
from bench.db import fresh_database, pg_available
from bench.kinds import KINDS
from bench.seed import SeedPlan, seed

# Scale, days of history, webhook requests per message kind, roster rows, outbox messages,
# free-text messages for the memory section.
FULL = dict(scale=1.0, days=90, requests=20_000, roster_rows=100_000, messages=20_000, texts=40)
# Quick: every section, each at the smallest size whose figure still means something (a
# roster of 2,000 rows measured start-up costs, not rows/s).
QUICK = dict(scale=0.005, days=5, requests=400, roster_rows=5_000, messages=2_000, texts=10)


def _section(results: dict, name: str, fn, *args, **kwargs) -> None:
    """Run one section; a failure is recorded in the results and the run goes on."""
    print(f"[{name}]", flush=True)
    t0 = time.perf_counter()
    try:
        results[name] = fn(*args, **kwargs)
    except Exception as exc:
        traceback.print_exc()
        results[name] = f"error: {type(exc).__name__}: {exc}"[:300]
    elapsed = round(time.perf_counter() - t0, 1)
    results.setdefault("section_seconds", {})[name] = elapsed
    print(f"[{name}] {elapsed} s", flush=True)


def run_one(
    kind: str,
    cfg: dict,
    *,
    quick: bool,
    sections: set[str],
    message_kinds: list[str] | None = None,
) -> dict:
    from bench import (
        compliance,
        console,
        dashboard,
        memory,
        outbox,
        quality,
        roster,
        sweeps,
        webhook,
    )  # fmt: skip

    plan = SeedPlan(scale=cfg["scale"], days=cfg["days"])
    results: dict = {
        "db": kind,
        "quick": quick,
        "scale": plan.scale,
        "days": plan.days,
        "today": plan.today.isoformat(),
        "machine": report.machine(),
    }
    print(f"\n### {kind}: seeding scale {plan.scale}, {plan.days} days", flush=True)
    t0 = time.perf_counter()
    url = fresh_database(kind)
    seeded = seed(url, plan, log=lambda m: print(m, flush=True))
    results["seed"] = {**seeded.as_dict(), "total_seconds": round(time.perf_counter() - t0, 1)}
    if "dashboard" in sections:
        _section(results, "dashboard", dashboard.run, url, today=plan.today)
    if "console" in sections:
        _section(results, "console", console.run, url, today=plan.today)
    if "sweeps" in sections:
        _section(results, "sweeps", sweeps.run, url, today=plan.today)
    if "compliance" in sections:
        _section(results, "compliance", compliance.run, url, today=plan.today)
    if "report" in sections:
        _section(results, "report", quality.run, url, today=plan.today, days=plan.days)
    if "roster" in sections:
        with tempfile.TemporaryDirectory() as tmp:
            _section(results, "roster", roster.run, url, rows=cfg["roster_rows"], workdir=Path(tmp))
    if "outbox" in sections:
        _section(results, "outbox", outbox.run, url, today=plan.today, messages=cfg["messages"])
    if "webhook" in sections:
        max_s = 8.0 if quick else 60.0
        bare_min = 4_000 if quick else 0
        _section(
            results, "webhook", webhook.run, url, requests=cfg["requests"], kinds=message_kinds,
            max_s=max_s, bare_min=bare_min,
        )  # fmt: skip
    if "memory" in sections:
        _section(results, "memory", memory.run, url, messages=cfg["texts"])
    return results


SECTIONS = (
    "dashboard", "console", "sweeps", "compliance", "report", "roster", "outbox", "webhook",
    "memory",
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1/200 scale, 5 days (< 2 min)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, help="fraction of the deck's province")
    parser.add_argument("--days", type=int, help="days of history")
    parser.add_argument("--only", help="comma-separated sections: " + ",".join(SECTIONS))
    parser.add_argument("--kinds", help="comma-separated webhook message kinds: " + ",".join(KINDS))
    parser.add_argument("--requests", type=int, help="webhook requests per message kind")
    args = parser.parse_args(argv)
    message_kinds = args.kinds.split(",") if args.kinds else None
    unknown = set(message_kinds or ()) - set(KINDS)
    if unknown:
        parser.error(f"unknown message kinds: {', '.join(sorted(unknown))}")

    cfg = dict(QUICK if args.quick else FULL)
    if args.scale:
        cfg["scale"] = args.scale
    if args.days:
        cfg["days"] = args.days
    if args.requests:
        cfg["requests"] = args.requests
    sections = set(args.only.split(",")) if args.only else set(SECTIONS)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in kinds and not pg_available():
        print("PostgreSQL is not reachable (SHIXI_BENCH_PG_URL); skipping it", file=sys.stderr)
        kinds.remove("postgresql")
        if not kinds:
            return 2
    started = time.perf_counter()
    all_results = []
    for kind in kinds:
        results = run_one(
            kind, cfg, quick=args.quick, sections=sections, message_kinds=message_kinds
        )
        results["wall_seconds"] = round(time.perf_counter() - started, 1)
        if args.requests:  # not the standard size: its own file
            results["tag"] = f"{args.requests}-requests"
        path = report.write(results)
        all_results.append(results)
        report.print_table(results)
        print(f"  written to {path}")
    print("\n" + report.markdown(all_results))
    print(f"\nmachine: {report.machine()}; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
