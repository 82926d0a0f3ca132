"""The quality report as a PDF: a Jinja HTML template laid out by WeasyPrint."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.report import charts
from core.rates import RATES

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "report"
MAX_ROWS = 30  # rows of a long table printed in the PDF; the XLSX has them all
TOTALS = (
    ("students", "学生数"),
    ("teachers", "指导教师数"),
    ("schools", "学校数"),
    ("companies", "实习单位数"),
    ("interning", "实习人数（统计期末在岗）"),
    ("started", "上岗数（实习记录）"),
)


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs (Pango) are not installed."""


def _pct(rate) -> str:
    if not rate or rate.get("value") is None:
        return "暂无数据"
    return f"{rate['value'] * 100:.1f}%"


def _frac(rate) -> str:
    return f"{rate['num']:,} / {rate['den']:,}" if rate else "—"


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    env.filters["pct"] = _pct
    env.filters["frac"] = _frac
    env.filters["n"] = lambda v: f"{v:,}" if isinstance(v, int) else v
    env.filters["cn_date"] = lambda d: f"{d.year}年{d.month}月{d.day}日"
    env.filters["md"] = lambda d: f"{d.month}月{d.day}日" if isinstance(d, date) else d
    return env


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def chart_images(r: dict) -> dict[str, str]:
    """Every chart of the report, as data: URIs for <img>."""
    p = r["placements"]
    svgs = {
        "schools": charts.bars(
            [{"name": s["school"], "value": s["students"]} for s in r["scale"]["schools"][:15]],
            title="各校学生数",
        ),
        "regions": charts.bars(p["regions"], title="实习地区分布（已上岗实习数）"),
        "industries": charts.bars(p["industries"], title="行业 Top 10（已上岗实习数）"),
        "majors": charts.bars(p["majors"], title="专业 Top 10（学生数）"),
        "rates": charts.rates(
            [(RATES[k].label, r["rates"][k]["value"]) for k in ("match", "arranged", "stable")],
            title="三率",
        ),
        "weeks": charts.weekly_lines(r["attendance"]["weeks"], title="每周签到率与周记提交率"),
        "grading": charts.paired_bars(
            [k["label"] for k in r["grading"]["kinds"]],
            [k["submitted"] for k in r["grading"]["kinds"]],
            [k["graded"] for k in r["grading"]["kinds"]],
            ("提交", "已批阅"),
            "各类日志的提交与批阅",
        ),
        "salary": charts.bars(r["pay"]["salary"], title="月薪分布", horizontal=False),
        "tickets": charts.bars(
            [{"name": c["label"], "value": c["count"]} for c in r["tickets"]["by_category"]],
            title="各类维权工单数",
        ),
        "satisfaction": charts.satisfaction(r["satisfaction"]["kinds"], title="各题平均分"),
    }
    rules = r["compliance"]["by_rule"]
    if rules:
        items = [{"name": f["label"], "value": f["open"]} for f in rules]
        svgs["compliance"] = charts.bars(items, title="各规则的未解决问题数")
    return {key: _data_uri(svg) for key, svg in svgs.items()}


def render_html(r: dict) -> str:
    """The report's HTML, charts inline, ready for WeasyPrint (or a browser)."""
    env = _env()
    return env.get_template("quality.html").render(
        r=r,
        css=(TEMPLATES / "quality.css").read_text(encoding="utf-8"),
        charts=chart_images(r),
        sec={s["key"]: s for s in r["sections"]},
        totals_labels=TOTALS,
        rate_labels={k: v.label for k, v in RATES.items()},
        rate_defs={k: v.for_period() for k, v in RATES.items()},
        max_rows=MAX_ROWS,
    )


def render_pdf(r: dict) -> bytes:
    """The report as PDF bytes, fonts embedded (subset) by WeasyPrint."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: Pango missing on the system
        raise PdfUnavailable(
            "生成 PDF 需要 WeasyPrint 及系统库 Pango（Debian: libpango-1.0-0 libpangoft2-1.0-0）"
            f"和中文字体 fonts-noto-cjk：{exc}"
        ) from exc
    return HTML(string=render_html(r), base_url=str(TEMPLATES)).write_pdf()
