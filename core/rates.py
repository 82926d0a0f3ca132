"""The dashboard rates and their definitions, shown in the console when hovering a figure."""

from __future__ import annotations

from dataclasses import dataclass

CHECKIN_WINDOW_DAYS = 30
GRADE_WITHIN_DAYS = 7  # a journal graded within this many days of submission is graded in time
SURVEY_WINDOW_DAYS = 365  # the dashboard's satisfaction: surveys sent in the last year


def ratio(num, den) -> dict:
    """A rate as the dashboard shows it: value (None without a denominator), num, den."""
    num, den = int(num or 0), int(den or 0)
    return {"value": round(min(num / den, 1.0), 4) if den else None, "num": num, "den": den}


@dataclass(frozen=True, slots=True)
class Rate:
    key: str
    label: str
    definition: str  # as the dashboard computes it (its own window)
    over_period: str = ""  # the same rule over a report's period, when the window differs

    def for_period(self) -> str:
        return self.over_period or self.definition


RATES = {
    r.key: r
    for r in (
        Rate(
            "match",
            "对口率",
            "已上岗的实习中，岗位与所学专业对口的比例（对口数 ÷ 已标注是否对口的实习数）。",
        ),
        Rate(
            "arranged",
            "统一安排率",
            "已上岗的实习中，由学校统一安排（而非学生自主联系）的比例。",
        ),
        Rate(
            "stable",
            "稳定率",
            "已上岗学生中，实习期间没有更换过实习单位（只在一家单位实习）的比例。",
        ),
        Rate(
            "checkin",
            "签到率",
            f"最近 {CHECKIN_WINDOW_DAYS} 天（不含今天）有签到的应签到日 ÷ 应签到日；"
            "应签到 = 在岗、当天是其实习工作日（法定节假日除外，调休上班日计入）、"
            "未请假，且当天提醒时间前已绑定微信或 Telegram。",
            "统计期内有签到的应签到日 ÷ 应签到日；应签到 = 在岗、当天是其实习工作日（法定节假日"
            "除外，调休上班日计入）、未请假，且当天提醒时间前已绑定微信或 Telegram。",
        ),
        Rate(
            "weekly",
            "周记提交率",
            "上一个完整自然周（周一至周日）提交了周记的学生 ÷ 该周在岗的学生。",
            "统计期内每个完整自然周（周一至周日）提交了周记的学生数之和 ÷ 各周在岗学生数之和。",
        ),
        Rate(
            "graded",
            "批阅及时率",
            f"最近 {CHECKIN_WINDOW_DAYS} 天提交、且已满 {GRADE_WITHIN_DAYS} 天的日志中，"
            f"在提交后 {GRADE_WITHIN_DAYS} 天内被批阅的比例。",
            f"统计期内提交、且截至报告日已满 {GRADE_WITHIN_DAYS} 天的日志中，"
            f"在提交后 {GRADE_WITHIN_DAYS} 天内被批阅的比例。",
        ),
        Rate(
            "satisfied",
            "满意度",
            f"最近 {SURVEY_WINDOW_DAYS} 天（含今天）发出并已答完的三方满意度问卷中，"
            "五题平均分不低于 4 分（满意或很满意）的比例；学生、家长、企业导师合计。",
            "统计期内发出并已答完的三方满意度问卷中，五题平均分不低于 4 分（满意或很满意）的"
            "比例；学生、家长、企业导师合计。",
        ),
    )
}
