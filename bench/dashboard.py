"""Dashboard overview and per-school ranking at seed scale, for a province and a school admin.

Two costs are measured: computing the slow figures from scratch (what the snapshot sweep, or
the first visit after a start, pays) and a page load reading a fresh snapshot (every visit).
"""

from __future__ import annotations

from sqlmodel import Session

from bench.common import NOT_BUILT, at_local, bench_settings, optional, repeat_ms, timed
from models import ConsoleUser, DashboardSnapshot
from models.db import make_engine

RUNS = 5
COMPUTE_RUNS = 2  # the cold compute takes seconds at seed scale; two runs show the cache effect


def run(url: str, *, today, log=print) -> dict:
    found = optional("core.stats", "overview", "ranking", "slow_figures", "snapshot_scope")
    if found is None:
        return {"overview": NOT_BUILT, "ranking": NOT_BUILT}
    overview, ranking, slow_figures, snapshot_scope = found
    from models.stats import store_snapshot

    settings = bench_settings(url)
    now = at_local(today, "10:00")
    engine = make_engine(url)
    # A bench database seeded before the table existed (the one migration is still pre-release).
    DashboardSnapshot.__table__.create(engine, checkfirst=True)
    province = ConsoleUser(username="bench-province", role="province", password_hash="x")
    school = ConsoleUser(username="bench-school", role="school", school_id=1, password_hash="x")
    result: dict = {}
    try:
        with Session(engine) as session:
            for label, user in (("province", province), ("school", school)):
                result[f"compute_{label}"] = repeat_ms(
                    lambda u=user: slow_figures(session, u, today=today, settings=settings),
                    COMPUTE_RUNS,
                )
                figures = slow_figures(session, user, today=today, settings=settings)
                scope = snapshot_scope(user)
                stored_s, _ = timed(
                    store_snapshot,
                    session,
                    scope=scope,
                    day=today,
                    computed_at=now,
                    figures=figures,
                )
                session.commit()
                result[f"store_{label}_ms"] = round(stored_s * 1000, 1)
                result[f"overview_{label}"] = repeat_ms(
                    lambda u=user: overview(session, u, today=today, settings=settings, now=now),
                    RUNS,
                )
            figures = overview(session, province, today=today, settings=settings, now=now)
            result["ranking_province"] = repeat_ms(
                lambda: ranking(session, province, today, figures["today"]), RUNS
            )
            result["today"] = figures["today"]
            result["schools_ranked"] = len(figures["ranking"])
    finally:
        engine.dispose()
    for key in (
        "compute_province",
        "compute_school",
        "overview_province",
        "overview_school",
        "ranking_province",
    ):
        log(f"  {key}: {result[key]['median_ms']} ms (first {result[key]['cold_ms']} ms)")
    return result
