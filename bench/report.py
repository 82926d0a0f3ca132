"""The results table (printed, and as markdown for the README) and the results JSON file."""

from __future__ import annotations

import json
import os
import platform
from datetime import date
from pathlib import Path

RESULTS_DIR = Path(__file__).parent / "results"


def machine() -> dict:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def _get(data: dict, path: str):
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


# (label, path in the results, unit, target test, target text); a test gets (value, db kind).
ROWS = (
    ("seed: check-ins generated", "seed.counts.checkins", "", None, ""),
    ("seed: load time", "seed.total_seconds", "s", None, ""),
    ("/wechat load generator", "webhook.real.client", "", None, ""),  # wrk or python
    ("/wechat bare FastAPI", "webhook.bare.rps", "req/s", None, ""),
    ("/wechat real", "webhook.real.rps", "req/s", None, ""),
    ("/wechat real/bare", "webhook.ratio", "x",
     lambda v, db: v >= (0.5 if db == "sqlite" else 0.33), "≥0.5 SQLite, ≥0.33 PG"),
    ("/wechat real p50", "webhook.real.p50_ms", "ms", None, ""),
    ("/wechat real p99", "webhook.real.p99_ms", "ms", lambda v, db: v < 100, "<100 ms"),
    ("/wechat errors", "webhook.real.errors", "", lambda v, db: v == 0, "0"),
    ("/wechat one check-in per 200", "webhook.real.checkins_ok", "", lambda v, db: v is True,
     "true"),
    ("nudge sweep", "sweeps.nudges.seconds", "s", lambda v, db: v < 5, "<5 s"),
    ("nudge outbox rows", "sweeps.nudges.outbox_rows", "", None, ""),
    ("digest + escalation sweep", "sweeps.escalations.seconds", "s", lambda v, db: v < 5, "<5 s"),
    ("  the same, first day (no alert history)", "sweeps.escalations_first_day.seconds", "s",
     None, ""),
    ("escalation outbox rows", "sweeps.escalations.outbox_rows", "", None, ""),
    ("dashboard overview (province)", "dashboard.overview_province.median_ms", "ms",
     lambda v, db: v < 200, "<200 ms"),
    ("dashboard overview (school)", "dashboard.overview_school.median_ms", "ms",
     lambda v, db: v < 200, "<200 ms"),
    ("school ranking", "dashboard.ranking_province.median_ms", "ms", lambda v, db: v < 200,
     "<200 ms"),
    ("roster import", "roster.rows_per_s", "rows/s", lambda v, db: v >= 5000, "≥5,000"),
    ("roster re-import", "roster.reimport_rows_per_s", "rows/s", None, ""),
    ("outbox delivery", "outbox.messages_per_s", "msg/s", lambda v, db: v >= 1000, "≥1,000"),
    ("server RSS (jieba loaded)", "memory.rss_after_mb", "MB", lambda v, db: v < 300, "<300 MB"),
)  # fmt: skip


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.3g}"
    return str(value)


def table_rows(results: dict) -> list[tuple[str, str, str, str]]:
    """(measure, value, target, verdict) for one database's results."""
    db = results.get("db", "")
    out = []
    for label, path, unit, test, target in ROWS:
        value = _get(results, path)
        if value is None:
            section = _get(results, path.split(".")[0])
            note = section if isinstance(section, str) else None
            if note is None and isinstance(section, dict):
                note = next((v for v in section.values() if isinstance(v, str)), None)
            out.append((label, (note or "n/a")[:60], target, ""))
            continue
        verdict = "" if test is None else ("met" if test(value, db) else "MISSED")
        out.append((label, f"{_fmt(value)} {unit}".strip()[:60], target, verdict))
    return out


def markdown(all_results: list[dict]) -> str:
    """One markdown table with a value column per database (for the README)."""
    dbs = [r["db"] for r in all_results]
    rows = [table_rows(r) for r in all_results]
    head = "| measure | " + " | ".join(dbs) + " | target |"
    lines = [head, "|" + "---|" * (len(dbs) + 2)]
    for i, (label, *_rest) in enumerate(rows[0]):
        cells = []
        for r in rows:
            value, verdict = r[i][1], r[i][3]
            cells.append(f"{value} ({verdict})" if verdict else value)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {rows[0][i][2]} |")
    return "\n".join(lines)


def print_table(results: dict) -> None:
    rows = table_rows(results)
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print(f"\n== {results['db']} (scale {results['scale']}, {results['days']} days) ==")
    for label, value, target, verdict in rows:
        print(f"  {label:<{width}}  {value:>{vwidth}}  {target:<22} {verdict}")


def write(results: dict, directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    tag = "-quick" if results.get("quick") else ""
    path = directory / f"{date.today().isoformat()}-{results['db']}{tag}.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str), "utf-8")
    return path
