"""The quality report's data as XLSX: one sheet per section with the rows behind its figures."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook

from core.quality_text import SECTIONS

MAX_ROWS = 1_000_000  # Excel's limit is 1,048,576 rows a sheet
RATE_HEAD = ("指标", "比率", "分子", "分母")
INCIDENT_HEAD = ("编号", "日期", "学校", "类别", "状态", "处理时长（小时）", "摘要")
NO_FINDINGS = "暂无数据：合规检查尚未启用"


def _v(rate: dict | None):
    """A rate as a number Excel can format (None stays empty)."""
    return None if not rate or rate.get("value") is None else rate["value"]


def _rate_row(label: str, rate: dict | None) -> tuple:
    rate = rate or {"num": None, "den": None}
    return (label, _v(rate), rate["num"], rate["den"])


def _incidents(rows: list[dict]) -> list[tuple]:
    keys = ("no", "day", "school", "category", "status", "hours", "summary")
    return [tuple(i[k] for k in keys) for i in rows]


def _about(r: dict) -> list:
    return [
        ("", (), [(f"{r['scope']}实习质量报告",), ("统计期", r["first"], r["last"])]),
        ("指标定义", ("指标", "定义"), [(d["label"], d["definition"]) for d in r["definitions"]]),
        (
            "数据来源",
            ("图表 / 指标", "数据来源", "统计口径"),
            [(s["figure"], s["source"], s["rule"]) for s in r["sources"]],
        ),
    ]


def _scale(r: dict) -> list:
    schools = [(s["school"], s["students"], s["checkin_days"]) for s in r["scale"]["schools"]]
    return [
        ("规模总览（统计期末）", ("指标", "数值"), list(r["scale"]["totals"].items())),
        ("各校", ("学校", "学生数", "统计期内签到人次"), schools),
    ]


def _placements(r: dict) -> list:
    groups = (("regions", "地区"), ("industries", "行业"), ("majors", "专业"), ("gender", "性别"))
    return [
        (label, (label, "数量"), [(i["name"], i["value"]) for i in r["placements"][key]])
        for key, label in groups
    ]


def _rates(r: dict) -> list:
    labels = (("match", "对口率"), ("arranged", "统一安排率"), ("stable", "稳定率"))
    return [("三率", RATE_HEAD, [_rate_row(label, r["rates"][k]) for k, label in labels])]


def _attendance(r: dict) -> list:
    a = r["attendance"]
    weeks = []
    for w in a["weeks"]:
        c, j = w["checkin"], w["weekly"] or {"value": None, "num": None, "den": None}
        weeks.append(
            (w["monday"], w["sunday"], _v(c), c["num"], c["den"], _v(j), j["num"], j["den"])
        )
    head = ("周一", "周日", "签到率", "已签到", "应签到", "周记提交率", "已交周记", "在岗学生")
    return [
        (
            "统计期",
            RATE_HEAD,
            [_rate_row("签到率", a["checkin"]), _rate_row("周记提交率", a["weekly"])],
        ),
        ("每周", head, weeks),
        ("每天", ("日期", "应签到", "已签到学生"), [tuple(d.values()) for d in a["days"]]),
    ]


def _grading(r: dict) -> list:
    g = r["grading"]
    kinds = [(k["label"], k["submitted"], k["graded"], k["average_score"]) for k in g["kinds"]]
    return [
        ("批阅及时率", RATE_HEAD, [_rate_row("批阅及时率", g["graded_in_time"])]),
        ("各类日志", ("类型", "提交", "已批阅", "平均分"), kinds),
    ]


def _pay(r: dict) -> list:
    low = r["pay"]["below_post_wage"]
    return [
        (
            "月薪分布",
            ("月薪（元）", "实习数"),
            [(s["name"], s["value"]) for s in r["pay"]["salary"]],
        ),
        (
            "低于同岗工资 80%",
            ("实习数", "两项工资都已填写的实习数"),
            [(low["cases"], low["known"])] if low else [("暂无数据",)],
        ),
    ]


def _compliance(r: dict) -> list:
    rules = r["compliance"]["by_rule"]
    keys = ("rule", "label", "severity", "open", "resolved", "waived", "unknown")
    rows = [tuple(f[k] for k in keys) for f in rules] if rules is not None else [(NO_FINDINGS,)]
    head = ("规则", "名称", "严重程度", "未解决", "已解决", "已豁免", "数据缺失")
    return [("合规问题（按规则）", head, rows)]


def _tickets(r: dict) -> list:
    t = r["tickets"]
    rows = [
        (c["label"], c["count"], c["resolved"]["num"], _v(c["resolved"]), c["median_hours"],
         c["mean_hours"])
        for c in [*t["by_category"], {"label": "合计", **t["overall"]}]
    ]  # fmt: skip
    head = ("类别", "工单数", "已解决", "解决率", "处理时长中位数（小时）", "平均（小时）")
    return [("按类别", head, rows), ("工单明细", INCIDENT_HEAD, _incidents(t["rows"]))]


def _safety(r: dict) -> list:
    return [
        ("失联预警", ("次数",), [(r["safety"]["lost_contact"],)]),
        ("安全及人身类事件", INCIDENT_HEAD, _incidents(r["safety"]["incidents"])),
    ]


def _satisfaction(r: dict) -> list:
    s = r["satisfaction"]
    kinds = [
        (k["label"], k["sent"], k["answered"], _v(k["response"]), k["average"], _v(k["satisfied"]))
        for k in [*s["kinds"], {"label": "合计", **s["overall"]}]
    ]
    questions = [
        (k["label"], i, text, k["questions"][i - 1])
        for k in s["kinds"]
        for i, text in enumerate(k["question_texts"], 1)
    ]
    return [
        ("按对象", ("对象", "发出", "回收", "回收率", "平均分", "满意率"), kinds),
        ("各题平均分", ("对象", "题号", "题目", "平均分"), questions),
        ("意见与建议（最近）", ("对象", "内容"), [(c["who"], c["text"]) for c in s["comments"]]),
    ]


SHEETS = {
    "scale": _scale,
    "placements": _placements,
    "rates": _rates,
    "attendance": _attendance,
    "grading": _grading,
    "pay": _pay,
    "compliance": _compliance,
    "tickets": _tickets,
    "safety": _safety,
    "satisfaction": _satisfaction,
}


def _write(wb: Workbook, title: str, blocks: list) -> None:
    ws, n = wb.create_sheet(title[:31]), 0
    for heading, header, rows in blocks:
        lines = ([[], [heading]] if n else [[heading]]) if heading else []
        for line in [*lines, list(header) if header else None, *rows]:
            if line is None or n >= MAX_ROWS:
                continue
            ws.append([v.isoformat() if isinstance(v, date) else v for v in line])
            n += 1


def render_xlsx(r: dict) -> bytes:
    """The workbook: 说明 (definitions and sources), then one sheet per numbered section."""
    wb = Workbook(write_only=True)
    _write(wb, "说明", _about(r))
    for no, (key, title) in enumerate(SECTIONS, 1):
        if key in SHEETS:
            _write(wb, f"{no} {title}", SHEETS[key](r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
