"""The demo province's quality report: each figure is the dashboard's, and the PDF shows them."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from itertools import pairwise

from sqlalchemy import select
from sqlmodel import Session

from core.quality_report import build_report
from core.quality_text import SECTIONS, num, pct
from core.rates import RATES
from core.stats import overview, scope_user, slow_figures
from models import School
from tests.report.report_world import FIRST, LAST, NOW, TODAY, demo_settings, needs_pdf

RATE_KEYS = ("value", "num", "den")


def _rate(figure: dict) -> dict:
    """A dashboard rate without its label and definition."""
    return {k: figure[k] for k in RATE_KEYS}


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_figure_equals_the_dashboards_for_the_same_scope_and_dates(
    province_report, demo_engine, demo_url
):
    settings, user, r = demo_settings(demo_url), scope_user("province"), province_report
    with Session(demo_engine) as session:
        at_last = slow_figures(session, user, today=LAST, settings=settings)
        dashboard = overview(session, user, today=TODAY, settings=settings, now=NOW)
        year = build_report(
            session, user, first=TODAY - timedelta(days=364), last=TODAY, settings=settings, now=NOW
        )
    # Totals, the three rates and the distributions are the dashboard's as of the last day.
    assert r["scale"]["totals"] == at_last["totals"] and r["scale"]["totals"]["students"] == 600
    for key in ("match", "arranged", "stable"):
        assert r["rates"][key] == at_last["rates"][key] and r["rates"][key]["den"] > 0
    for key in ("regions", "industries", "majors", "gender", "salary"):
        assert r["placements"][key] == at_last[key] and at_last[key]
    assert r["pay"]["salary"] == at_last["salary"]
    # The dashboard's windows end yesterday: 30 days of 签到率 and 批阅及时率, last week's 周记.
    assert r["attendance"]["checkin"] == _rate(dashboard["rates"]["checkin"])
    assert r["attendance"]["weeks"][-1]["weekly"] == _rate(dashboard["rates"]["weekly"])
    assert r["grading"]["graded_in_time"] == _rate(dashboard["rates"]["graded"])
    for figure in (r["attendance"]["checkin"], r["grading"]["graded_in_time"]):
        assert figure["den"] > 0 and 0 < figure["value"] < 1
    # Satisfaction: the dashboard counts the surveys of the last 365 days.
    assert year["satisfaction"]["overall"]["satisfied"] == _rate(dashboard["rates"]["satisfied"])
    mine = [
        {k: v for k, v in kind.items() if k != "question_texts"}
        for kind in year["satisfaction"]["kinds"]
    ]
    assert mine == dashboard["satisfaction"]["kinds"]
    assert r["satisfaction"]["overall"]["answered"] > 0


def test_the_weeks_cut_the_period_at_mondays_and_add_up_to_it(province_report):
    weeks = province_report["attendance"]["weeks"]
    assert weeks[0]["monday"] == FIRST and weeks[-1]["sunday"] == LAST
    for before, after in pairwise(weeks):
        assert after["monday"] == before["sunday"] + timedelta(days=1)
        assert after["monday"].weekday() == 0
    overall = province_report["attendance"]["checkin"]
    assert sum(w["checkin"]["den"] for w in weeks) == overall["den"]
    assert sum(w["checkin"]["num"] for w in weeks) == overall["num"]
    # Only complete weeks have a 周记提交率: FIRST is a Saturday, LAST a Sunday.
    assert weeks[0]["weekly"] is None and all(w["weekly"] for w in weeks[1:])


def test_a_school_report_counts_only_that_school_like_its_dashboard(demo_engine, demo_url):
    settings = demo_settings(demo_url)
    with Session(demo_engine) as session:
        school_id = session.execute(select(School.id).order_by(School.id)).scalars().first()
        user = scope_user(f"school:{school_id}")
        r = build_report(session, user, first=FIRST, last=LAST, settings=settings, now=NOW)
        dashboard = overview(session, user, today=TODAY, settings=settings, now=NOW)
        at_last = slow_figures(session, user, today=LAST, settings=settings)
    assert r["scale"]["totals"] == at_last["totals"] and r["scale"]["totals"]["schools"] == 1
    assert [s["school"] for s in r["scale"]["schools"]] == [r["scope"]]
    assert r["attendance"]["checkin"] == _rate(dashboard["rates"]["checkin"])
    assert r["tickets"]["overall"]["count"] <= 600


def _figures(r: dict) -> list[str]:
    """Every number the PDF must print, as the PDF formats it."""
    out = [num(v) for v in r["scale"]["totals"].values()]
    rates = [
        *(r["rates"][k] for k in ("match", "arranged", "stable")),
        r["attendance"]["checkin"],
        r["attendance"]["weekly"],
        r["grading"]["graded_in_time"],
        r["tickets"]["overall"]["resolved"],
        r["satisfaction"]["overall"]["satisfied"],
        r["satisfaction"]["overall"]["response"],
    ]
    out += [pct(x) for x in rates] + [f"{x['num']:,}/{x['den']:,}" for x in rates[:6]]
    out += [pct(w["checkin"]) for w in r["attendance"]["weeks"]]
    out += [pct(w["weekly"]) for w in r["attendance"]["weeks"] if w["weekly"]]
    out += [f"{s['name']}{s['value']:,}" for s in r["pay"]["salary"]]
    out += [f"{c['label']}{c['count']}" for c in r["tickets"]["by_category"]]
    out += [f"{k['label']}{k['sent']:,}{k['answered']:,}" for k in r["satisfaction"]["kinds"]]
    out += [f"{k['label']}{k['submitted']:,}{k['graded']:,}" for k in r["grading"]["kinds"]]
    out += [i["no"] for i in r["safety"]["incidents"]]
    return out


@needs_pdf
def test_the_pdf_has_a_cover_contents_and_every_section_and_figure(province_report, province_pdf):
    path, text = province_pdf
    flat = _squeeze(text)
    assert flat.startswith("全省实习质量报告") and "统计期：2026年11月7日至2026年12月6日" in flat
    assert "目录" in flat and "主要指标" in flat
    for no, (_, title) in enumerate(SECTIONS, 1):
        assert re.search(rf"{no}{re.escape(title)}\.+\d+", flat), f"contents lacks {title}"
        assert flat.count(f"{no}{title}") >= 2, f"section {title} missing"
    for figure in _figures(province_report):
        assert _squeeze(figure) in flat, figure
    for paragraphs in province_report["text"].values():
        for p in paragraphs:
            assert _squeeze(p) in flat, p
    for rate in RATES.values():  # every rate's definition, in the appendix
        assert _squeeze(rate.for_period()) in flat, rate.label
    pages = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", path)).group(1))
    assert f"第1页/共{pages}页" not in flat  # the cover has no page number
    assert f"第2页/共{pages}页" in flat and f"第{pages}页/共{pages}页" in flat


@needs_pdf
def test_the_pdf_embeds_its_chinese_fonts_and_draws_charts(province_pdf):
    path, text = province_pdf
    fonts = _run("pdffonts", path).splitlines()[2:]
    cjk = [line for line in fonts if "CJK-SC" in line]
    assert cjk and all(" yes yes yes " in line for line in cjk)
    # Chart labels are text in the embedded SVG, so the charts' titles and axes are found.
    assert "各题平均分" in text and "每周签到率与周记提交率" in text and "月薪分布" in text


@needs_pdf
def test_the_first_pages_render_to_png_with_content(province_pdf, tmp_path):
    from PIL import Image

    path, _ = province_pdf
    subprocess.run(
        ["pdftoppm", "-r", "30", "-f", "1", "-l", "4", "-png", str(path), str(tmp_path / "p")],
        check=True,
    )
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == 4
    for png in pngs:
        grey = Image.open(png).convert("L")
        inked = sum(grey.histogram()[:200])  # pixels darker than light grey
        assert inked > 0.005 * grey.width * grey.height, png.name


def _run(*cmd) -> str:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=True).stdout
