"""The results table (printed, and as markdown for the README) and the results JSON file."""

from __future__ import annotations

import json
import os
import platform
import unicodedata
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
    ("/wechat load generator", "webhook.bare.client", "", None, ""),  # wrk or python
    ("/wechat bare FastAPI", "webhook.bare.rps", "req/s", None, ""),
    ("binding throughput", "webhook.kinds.bind.effects_per_s", "students/s",
     lambda v, db: v >= 500, "≥500"),
    ("nudge sweep", "sweeps.nudges.seconds", "s", lambda v, db: v < 5, "<5 s"),
    ("nudge outbox rows", "sweeps.nudges.outbox_rows", "", None, ""),
    ("digest + escalation sweep", "sweeps.escalations.seconds", "s", lambda v, db: v < 5, "<5 s"),
    ("  the same, first day (no alert history)", "sweeps.escalations_first_day.seconds", "s",
     None, ""),
    ("escalation outbox rows", "sweeps.escalations.outbox_rows", "", None, ""),
    ("compliance check (first)", "compliance.first.seconds", "s", lambda v, db: v < 60, "<60 s"),
    ("compliance check (re-run)", "compliance.rerun.seconds", "s", lambda v, db: v < 60,
     "<60 s"),
    ("compliance check (next day)", "compliance.next_day.seconds", "s", lambda v, db: v < 60,
     "<60 s"),
    ("compliance findings", "compliance.findings", "", None, ""),
    ("dashboard overview (province)", "dashboard.overview_province.median_ms", "ms",
     lambda v, db: v < 200, "<200 ms"),
    ("dashboard overview (school)", "dashboard.overview_school.median_ms", "ms",
     lambda v, db: v < 200, "<200 ms"),
    ("school ranking", "dashboard.ranking_province.median_ms", "ms", lambda v, db: v < 200,
     "<200 ms"),
    ("console login (school admin)", "console.school.login_ms", "ms", lambda v, db: v < 300,
     "<300 ms"),
    ("dashboard first load (province / school / teacher)", "console.province.first_load_ms",
     "ms", lambda v, db: v < 500, "<500 ms"),
    ("  school", "console.school.first_load_ms", "ms", lambda v, db: v < 500, "<500 ms"),
    ("  teacher", "console.teacher.first_load_ms", "ms", lambda v, db: v < 500, "<500 ms"),
    ("dashboard later load (province)", "console.province.later_load_ms", "ms",
     lambda v, db: v < 200, "<200 ms"),
    ("  school", "console.school.later_load_ms", "ms", lambda v, db: v < 200, "<200 ms"),
    ("  teacher", "console.teacher.later_load_ms", "ms", lambda v, db: v < 200, "<200 ms"),
    ("quality report (province): figures", "report.build_s", "s", None, ""),
    ("quality report: PDF / XLSX", "report.pdf_s", "s", None, ""),
    ("quality report, figures + PDF + XLSX", "report.total_s", "s", lambda v, db: v < 120,
     "<2 min"),
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
    """The README's tables: a value column per database, then the per-kind webhook table."""
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
    kinds = kinds_markdown(all_results)
    return "\n".join(lines) + (f"\n\n{kinds}" if kinds else "")


def _width(text: str) -> int:
    """Terminal columns of a text: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def print_table(results: dict) -> None:
    rows = table_rows(results)
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print(f"\n== {results['db']} (scale {results['scale']}, {results['days']} days) ==")
    for label, value, target, verdict in rows:
        print(f"  {label:<{width}}  {value:>{vwidth}}  {target:<22} {verdict}")
    kinds = kind_rows(results)
    if kinds:
        print(f"\n  /wechat per message kind ({results['db']}, 64 connections, distinct senders)")
        head = ("message", "req/s", "real/bare", "p50 ms", "p99 ms", "errors", "once", "verdict")
        body = [head, *(k[1:] for k in kinds)]
        widths = [max(_width(str(r[i])) for r in body) for i in range(len(head))]
        for row in body:
            cells = (str(v) + " " * (w - _width(str(v))) for v, w in zip(row, widths, strict=True))
            print("  " + "  ".join(cells))


# Per message kind: real/bare >= the kind's target on the database, p99 < 100 ms, no errors,
# exactly one effect per request answered 200 (bench.kinds).
P99_TARGET_MS = 100


def _ratio_target(entry_name: str, db: str) -> float:
    from bench.kinds import KINDS

    sqlite, pg = KINDS[entry_name].targets if entry_name in KINDS else (0.25, 0.25)
    return sqlite if db == "sqlite" else pg


def kind_verdict(name: str, entry: dict, db: str) -> str:
    """ "met", or "MISSED" with what missed."""
    if not isinstance(entry, dict):
        return ""
    missed = []
    if (entry.get("ratio") or 0) < _ratio_target(name, db):
        missed.append("ratio")
    if entry.get("p99_ms") is None or entry["p99_ms"] >= P99_TARGET_MS:
        missed.append("p99")
    if entry.get("errors"):
        missed.append("errors")
    if not entry.get("effects_ok"):
        missed.append("effects")
    return "met" if not missed else "MISSED: " + ", ".join(missed)


def kind_rows(results: dict) -> list[tuple]:
    """(name, label, req/s, real/bare, p50, p99, errors, effects/ok, verdict) per measured kind."""
    kinds = _get(results, "webhook.kinds")
    if not isinstance(kinds, dict):
        return []
    db = results.get("db", "")
    out = []
    for name, e in kinds.items():
        if not isinstance(e, dict):
            out.append((name, name, str(e)[:60], "", "", "", "", "", ""))
            continue
        once = f"{e['effects']:,}/{e['ok']:,}" + (
            f" +{e['duplicated']} dup" if e["duplicated"] else ""
        )
        out.append((
            name, e.get("label", name), _fmt(e["rps"]), f"{e['ratio']:.3g} x", _fmt(e["p50_ms"]),
            _fmt(e["p99_ms"]), _fmt(e["errors"]), once, kind_verdict(name, e, db),
        ))  # fmt: skip
    return out


def kinds_markdown(all_results: list[dict]) -> str:
    """The per-kind table for the README: per database, real/bare with req/s, p50 / p99,
    errors and whether every request had exactly one effect."""
    per_db = {r["db"]: {row[0]: row for row in kind_rows(r)} for r in all_results}
    names = list(dict.fromkeys(name for rows in per_db.values() for name in rows))
    if not names:
        return ""
    head = "| message |"
    for db in per_db:
        head += f" {db} real/bare | {db} p50 / p99 ms | {db} errors; once each |"
    lines = [head + " target |", "|" + "---|" * (2 + 3 * len(per_db))]
    for name in names:
        cells, label = [], name
        for rows in per_db.values():
            row = rows.get(name)
            if row is None:
                cells += ["", "", ""]
                continue
            _, label, rps, ratio, p50, p99, errors, once, verdict = row
            ok = "" if not verdict else f" ({verdict})"
            cells += [f"{ratio}, {rps} req/s{ok}", f"{p50} / {p99}", f"{errors}; {once}"]
        sqlite, pg = _ratio_target(name, "sqlite"), _ratio_target(name, "postgresql")
        target = f"≥{sqlite} SQLite, ≥{pg} PG" if sqlite != pg else f"≥{sqlite}"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target}, p99 <100 ms, 0 errors |")
    return "\n".join(lines)


def write(results: dict, directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    tag = "-quick" if results.get("quick") else ""
    if results.get("tag"):
        tag += f"-{results['tag']}"
    path = directory / f"{date.today().isoformat()}-{results['db']}{tag}.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str), "utf-8")
    return path
