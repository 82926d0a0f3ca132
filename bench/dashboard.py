"""Dashboard overview and per-school ranking at seed scale, for a province and a school admin."""

from __future__ import annotations

from sqlmodel import Session

from bench.common import NOT_BUILT, bench_settings, optional, repeat_ms
from models import ConsoleUser
from models.db import make_engine

RUNS = 5


def run(url: str, *, today, log=print) -> dict:
    found = optional("core.stats", "overview", "ranking")
    if found is None:
        return {"overview": NOT_BUILT, "ranking": NOT_BUILT}
    overview, ranking = found
    settings = bench_settings(url)
    engine = make_engine(url)
    province = ConsoleUser(username="bench-province", role="province", password_hash="x")
    school = ConsoleUser(username="bench-school", role="school", school_id=1, password_hash="x")
    result: dict = {}
    try:
        with Session(engine) as session:
            for label, user in (("province", province), ("school", school)):
                result[f"overview_{label}"] = repeat_ms(
                    lambda u=user: overview(session, u, today=today, settings=settings), RUNS
                )
            figures = overview(session, province, today=today, settings=settings)
            result["ranking_province"] = repeat_ms(
                lambda: ranking(session, province, today, figures["today"]), RUNS
            )
            result["today"] = figures["today"]
            result["schools_ranked"] = len(figures["ranking"])
    finally:
        engine.dispose()
    for key in ("overview_province", "overview_school", "ranking_province"):
        log(f"  {key}: {result[key]['median_ms']} ms (first {result[key]['cold_ms']} ms)")
    return result
