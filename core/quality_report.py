"""The whole quality report as one JSON-ready dict: figures, words, definitions, data sources."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from core import quality as q
from core.quality_text import SECTIONS, explain
from core.rates import GRADE_WITHIN_DAYS, RATES
from models import ConsoleUser, School, Teacher

# (figure, where its data comes from, how it is counted) for the appendix and the XLSX.
DATA_SOURCES = (
    ("学生数、指导教师数、学校数", "花名册：学生、指导教师、学校", "统计期末的记录数"),
    ("实习单位数", "花名册：实习记录的实习单位", "有实习记录的单位数（去重）"),
    ("实习人数", "实习记录", "统计期末处于实习期内（开始日期 ≤ 期末 ≤ 结束日期）的学生数"),
    ("上岗数", "实习记录", "开始日期不晚于统计期末的实习记录数"),
    ("地区、行业分布", "实习记录：城市、行业", "已上岗的实习记录数，按城市或行业分组"),
    ("专业分布", "花名册：学生的专业", "学生数，按专业分组"),
    ("对口率", "实习记录：是否对口（按专业与岗位判断）", RATES["match"].for_period()),
    ("统一安排率", "实习记录：统一安排", RATES["arranged"].for_period()),
    ("稳定率", "实习记录：实习单位", RATES["stable"].for_period()),
    ("签到率", "每日各校签到汇总；实习的工作日与节假日", RATES["checkin"].for_period()),
    ("周记提交率", "周记（日志类型“周记”）", RATES["weekly"].for_period()),
    ("批阅及时率", "日志的提交时间与批阅时间", RATES["graded"].for_period()),
    ("薪资分布", "实习记录：月薪", "已上岗的实习记录数，按月薪区间分组"),
    ("低于同岗工资 80%", "实习记录：月薪与同岗工资", "月薪 < 同岗工资 × 80% 的实习数"),
    ("合规问题", "合规检查结果（按规则编号）", "统计期内出现过的问题数，按规则与状态分组"),
    ("维权工单", "工单及其处理记录", "统计期内提交的工单；处理时长 = 提交到首次“已解决”"),
    ("安全事件", "安全、骚扰/人身类工单；失联预警", "统计期内提交的此类工单，及失联预警次数"),
    ("满意度", "三方满意度问卷", RATES["satisfied"].for_period()),
)
DEFINED_RATES = ("match", "arranged", "stable", "checkin", "weekly", "graded", "satisfied")


def scope_name(session: Session, user: ConsoleUser) -> str:
    """全省, the school's name, or the teacher's students."""
    if user.role == "province":
        return "全省"
    if user.role == "teacher" and user.teacher_id:
        teacher = session.get(Teacher, user.teacher_id)
        return f"{teacher.name}老师指导的学生" if teacher else "本人指导的学生"
    school = session.get(School, user.school_id) if user.school_id else None
    return school.name if school else ""


def build_report(
    session: Session,
    user: ConsoleUser,
    *,
    first: date,
    last: date,
    settings,
    now: datetime,
    progress=None,
) -> dict:
    """Every section's figures for `user`'s scope over [first, last], with their explanations.

    `progress(label)` is called before each section (for the command line's progress output).
    """
    if last < first:
        raise ValueError("the period ends before it starts")
    period = q.Period(first, last, settings.tz)
    step = progress or (lambda label: None)
    report: dict = {
        "scope": scope_name(session, user),
        "first": first,
        "last": last,
        "generated_at": now.astimezone(settings.tz),
    }
    work = (
        ("scale", lambda: q.scale(session, user, period)),
        ("placements", lambda: q.placements(session, user, period)),
        ("rates", lambda: q.placement_rates(session, user, period)),
        ("attendance", lambda: q.attendance(session, user, period, settings)),
        ("grading", lambda: q.grading(session, user, period, now)),
        ("pay", lambda: q.pay(session, user, period)),
        ("compliance", lambda: q.compliance(session, user, period)),
        ("tickets", lambda: q.tickets(session, user, period)),
        ("safety", lambda: q.safety(session, user, period)),
        ("satisfaction", lambda: q.surveys(session, user, period, settings)),
    )
    titles = dict(SECTIONS)
    for key, compute in work:
        step(titles[key])
        report[key] = compute()
    report["text"] = explain(report)
    report["sections"] = [
        {"no": i, "key": key, "title": title} for i, (key, title) in enumerate(SECTIONS, 1)
    ]
    report["definitions"] = [
        {"label": RATES[k].label, "definition": RATES[k].for_period()} for k in DEFINED_RATES
    ]
    report["sources"] = [{"figure": f, "source": s, "rule": r} for f, s, r in DATA_SOURCES]
    report["grade_within_days"] = GRADE_WITHIN_DAYS
    return report
