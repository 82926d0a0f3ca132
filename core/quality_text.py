"""The quality report's words: section titles and short explanations written from the figures."""

from __future__ import annotations

SECTIONS = (
    ("scale", "实习规模"),
    ("placements", "实习分布：地区、行业与专业"),
    ("rates", "对口率、统一安排率与稳定率"),
    ("attendance", "签到与周记提交"),
    ("grading", "日志批阅"),
    ("pay", "实习报酬"),
    ("compliance", "合规检查"),
    ("tickets", "维权工单"),
    ("safety", "安全事件"),
    ("satisfaction", "三方满意度"),
    ("data", "数据来源与指标定义"),
)
NO_DATA = "暂无数据"
NOT_AVAILABLE = (
    "本系统尚未记录这部分数据（合规检查模块上线、花名册填写“同岗工资”等字段后自动生成），"
    "本节暂不作结论。"
)


def pct(rate: dict | None) -> str:
    """A rate as 85.3%, or 暂无数据 without a denominator."""
    if not rate or rate.get("value") is None:
        return NO_DATA
    return f"{rate['value'] * 100:.1f}%"


def num(n) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def _top(items: list[dict], n: int = 3) -> str:
    named = [i for i in items if i["value"]][:n]
    return "、".join(f"{i['name']}（{num(i['value'])}）" for i in named) or NO_DATA


def scale(d: dict, scope: str) -> list[str]:
    t = d["totals"]
    return [
        f"截至统计期末，{scope}共有学生 {num(t['students'])} 人、指导教师 {num(t['teachers'])} 人，"
        f"涉及学校 {num(t['schools'])} 所、实习单位 {num(t['companies'])} 家。",
        f"已上岗的实习 {num(t['started'])} 个，统计期末仍在岗的实习学生 {num(t['interning'])} 人。"
        "上岗数按实习记录计，一名学生更换单位会有多条实习记录，因此可能大于实习人数。",
    ]


def placements(d: dict) -> list[str]:
    return [
        f"实习地区以{_top(d['regions'])}为主；行业集中在{_top(d['industries'])}；"
        f"学生人数最多的专业是{_top(d['majors'])}。",
        "图表只列出前 10（地区前 15）项，完整数据见附表。",
    ]


def rates(d: dict) -> list[str]:
    return [
        f"已上岗实习的专业对口率为 {pct(d['match'])}（{num(d['match']['num'])}/"
        f"{num(d['match']['den'])}），统一安排率为 {pct(d['arranged'])}，"
        f"稳定率为 {pct(d['stable'])}。",
        _rate_remark(d["match"], "对口率", 0.7, "建议加强岗位与专业的匹配审核。"),
        _rate_remark(d["stable"], "稳定率", 0.8, "建议关注频繁更换单位的学生。"),
    ]


def _rate_remark(rate: dict, label: str, bar: float, advice: str) -> str:
    if rate.get("value") is None:
        return f"{label}暂无数据。"
    if rate["value"] < bar:
        return f"{label}低于 {bar * 100:.0f}%，{advice}"
    return f"{label}不低于 {bar * 100:.0f}%，情况良好。"


def attendance(d: dict) -> list[str]:
    weeks = [w for w in d["weeks"] if w["checkin"]["value"] is not None]
    low = min(weeks, key=lambda w: w["checkin"]["value"]) if weeks else None
    out = [
        f"统计期内应签到 {num(d['checkin']['den'])} 人次，"
        f"实际签到 {num(d['checkin']['num'])} 人次，签到率为 {pct(d['checkin'])}；"
        f"周记提交率为 {pct(d['weekly'])}。",
    ]
    if low is not None:
        out.append(
            f"签到率最低的一周是 {low['monday'].month}月{low['monday'].day}日起的一周"
            f"（{pct(low['checkin'])}），"
            "可结合节假日和单位排班查看原因。"
        )
    return out


def grading(d: dict) -> list[str]:
    rate = d["graded_in_time"]
    total = sum(k["submitted"] for k in d["kinds"])
    return [
        f"统计期内学生共提交日志 {num(total)} 篇。已满 7 天的 {num(rate['den'])} 篇中，"
        f"{num(rate['num'])} 篇在提交后 7 天内得到批阅，批阅及时率为 {pct(rate)}。",
        _rate_remark(rate, "批阅及时率", 0.9, "建议指导教师按周批阅，及时给出反馈。"),
    ]


def pay(d: dict) -> list[str]:
    known = [s for s in d["salary"] if s["name"] != "未填写"]
    total = sum(s["value"] for s in known)
    low = d["below_post_wage"]
    out = [f"填写了月薪的实习 {num(total)} 个，分布见下图；最多的区间是{_top(known, 1)}。"]
    if low is None:
        out.append("低于同岗位工资 80% 的情况：" + NOT_AVAILABLE)
    else:
        out.append(
            f"月薪低于同岗位工资 80% 的实习有 {num(low['cases'])} 个"
            f"（同时填写了两项工资的实习 {num(low['known'])} 个）。"
        )
    return out


def compliance(d: dict) -> list[str]:
    rules = d["by_rule"]
    if rules is None:
        return ["按《职业学校学生实习管理规定》逐条检查的结果：" + NOT_AVAILABLE]
    open_total = sum(r["open"] for r in rules)
    worst = sorted((r for r in rules if r["open"]), key=lambda r: -r["open"])[:3]
    names = "、".join(f"{r['label']}（{num(r['open'])}）" for r in worst) or "无"
    return [f"统计期内未解决的合规问题共 {num(open_total)} 项，最多的是：{names}。"]


def tickets(d: dict) -> list[str]:
    o = d["overall"]
    busiest = sorted((c for c in d["by_category"] if c["count"]), key=lambda c: -c["count"])[:3]
    names = "、".join(f"{c['label']}（{c['count']}）" for c in busiest) or "无"
    hours = "暂无" if o["median_hours"] is None else f"{o['median_hours']} 小时"
    return [
        f"统计期内学生共提交维权工单 {num(o['count'])} 件，主要类别为：{names}。",
        f"已解决 {num(o['resolved']['num'])} 件（{pct(o['resolved'])}），"
        f"从提交到解决的时长中位数为 {hours}。",
    ]


def safety(d: dict) -> list[str]:
    s = d["summary"]
    if not s["count"]:
        lead = "统计期内没有学生报告安全或人身伤害类事件。"
    else:
        lead = (
            f"统计期内学生报告安全及人身类事件 {num(s['count'])} 起，已解决 {pct(s['resolved'])}，"
            "逐起列于下表。"
        )
    return [lead, f"同期因连续多日未签到发出的“失联”预警 {num(d['lost_contact'])} 次。"]


def satisfaction(d: dict) -> list[str]:
    o = d["overall"]
    if not o["sent"]:
        return ["统计期内尚未发出满意度问卷。"]
    parts = [
        f"{k['label']}平均 {k['average']:.2f} 分" for k in d["kinds"] if k["average"] is not None
    ]
    return [
        f"统计期内共发出满意度问卷 {num(o['sent'])} 份，回收 {num(o['answered'])} 份"
        f"（回收率 {pct(o['response'])}）；满意率为 {pct(o['satisfied'])}。",
        ("按对象看：" + "，".join(parts) + "（满分 5 分）。") if parts else "尚无答完的问卷。",
    ]


WRITERS = {
    "placements": placements,
    "rates": rates,
    "attendance": attendance,
    "grading": grading,
    "pay": pay,
    "compliance": compliance,
    "tickets": tickets,
    "safety": safety,
    "satisfaction": satisfaction,
}


def explain(report: dict) -> dict[str, list[str]]:
    """Each section's paragraphs, written from its figures."""
    out = {"scale": scale(report["scale"], report["scope"])}
    for key, write in WRITERS.items():
        out[key] = write(report[key])
    return out
