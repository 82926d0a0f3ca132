"""The province's quality report at seed scale: figures, PDF and XLSX (target: under 2 minutes).

The report covers the seeded history (at most 90 days, ending yesterday), as a province admin
would ask for it; building the figures and rendering each format are timed apart.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bench.common import NOT_BUILT, at_local, bench_settings, optional, timed
from models.db import make_engine

TARGET_S = 120
MAX_DAYS = 90


def run(url: str, *, today, days: int, log=print) -> dict:
    found = optional("core.quality_report", "build_report")
    if found is None:
        return {"total_s": NOT_BUILT}
    (build_report,) = found
    from api.report.pdf import PdfUnavailable, render_pdf
    from api.report.xlsx import render_xlsx
    from core.stats import scope_user

    settings = bench_settings(url)
    last = today - timedelta(days=1)
    first = last - timedelta(days=min(days, MAX_DAYS) - 1)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            build_s, report = timed(
                build_report,
                session,
                scope_user("province"),
                first=first,
                last=last,
                settings=settings,
                now=at_local(today, "10:00"),
            )
    finally:
        engine.dispose()
    result: dict = {"first": first.isoformat(), "last": last.isoformat()}
    result["build_s"] = round(build_s, 1)
    xlsx_s, xlsx = timed(render_xlsx, report)
    result["xlsx_s"], result["xlsx_kb"] = round(xlsx_s, 1), len(xlsx) // 1024
    try:
        pdf_s, pdf = timed(render_pdf, report)
        result["pdf_s"], result["pdf_kb"] = round(pdf_s, 1), len(pdf) // 1024
    except PdfUnavailable as exc:
        result["pdf_s"] = f"n/a ({exc})"[:120]
        pdf_s = 0.0
    result["total_s"] = round(build_s + pdf_s + xlsx_s, 1)
    result["met"] = result["total_s"] < TARGET_S
    log(
        f"  figures {result['build_s']} s, PDF {result['pdf_s']} s, XLSX {result['xlsx_s']} s: "
        f"{result['total_s']} s (target < {TARGET_S} s)"
    )
    return result
