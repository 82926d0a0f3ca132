"""The dashboard rates and their definitions, shown in the console when hovering a figure."""

from __future__ import annotations

from dataclasses import dataclass

CHECKIN_WINDOW_DAYS = 30


@dataclass(frozen=True, slots=True)
class Rate:
    key: str
    label: str
    definition: str


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
            f"最近 {CHECKIN_WINDOW_DAYS} 天（不含今天）有签到的工作日 ÷ 应签到的工作日；"
            "应签到 = 当天在岗且该日为其工作日的实习（法定节假日除外，调休上班日计入）。",
        ),
        Rate(
            "weekly",
            "周记提交率",
            "上一个完整自然周（周一至周日）提交了周记的学生 ÷ 该周在岗的学生。",
        ),
    )
}
