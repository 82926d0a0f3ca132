"""Satisfaction surveys: who is asked, how answers are read, and the words of the survey."""

from __future__ import annotations

import re

SCALE = (1, 5)
SATISFIED_FROM = 4  # an answer of 4 (满意) or 5 (很满意) counts as satisfied
RESPONDENT_NAMES = {"student": "学生", "parent": "家长", "mentor": "企业导师"}
ROUND_NAMES = {"first_month": "实习满一个月", "end": "实习结束"}
SCALE_HINT = "1 很不满意，2 不满意，3 一般，4 满意，5 很满意"
SKIP_WORDS = frozenset({"无", "没有", "跳过", "不用", "不用了", "没了", "没有了", "no", "skip"})

# The push that opens a survey (zh: the questions are Chinese), per respondent.
OPENING = {
    "student": "【实习满意度调查】{name}同学您好，您的岗位实习{moment}。想听听您的真实感受，"
    "共 {n} 题，每题回复一个数字（{scale}），约 1 分钟。",
    "parent": "【实习满意度调查】{name}家长您好，{student}同学的岗位实习{moment}。想听听您的看法，"
    "共 {n} 题，每题回复一个数字（{scale}），约 1 分钟。",
    "mentor": "【实习满意度调查】{name}您好，实习生{student}在贵单位的岗位实习{moment}。"
    "想听听您的评价，共 {n} 题，每题回复一个数字（{scale}），约 1 分钟。",
}
MOMENT = {"first_month": "已满一个月", "end": "即将结束"}
REMINDER = (
    "【实习满意度调查·提醒】关于{student}实习的问卷还没有完成，只需 1 分钟。"
    "每题回复一个数字（{scale}）。"
)
QUESTION = "第 {i}/{n} 题：{q}"
COMMENT_QUESTION = "最后一步：还有什么意见或建议吗？直接回复文字即可；没有请回复「无」。"
RESUME_HINT = "如果现在不方便，之后发送「问卷」即可继续作答。"

_FULL_WIDTH = str.maketrans("０１２３４５６７８９，　", "0123456789, ")
_SEPARATORS = re.compile(r"[\s,、;；/]+")
_ONE = re.compile(r"^([1-5])\s*分?$")


def parse_scores(text: str, *, room: int) -> list[int] | None:
    """The 1-5 answers in a message ("4", "4分", "５", "5 4 3"), at most `room`; else None."""
    plain = text.strip().translate(_FULL_WIDTH).rstrip("。.!！")
    m = _ONE.match(plain)
    if m:
        return [int(m.group(1))]
    parts = [p for p in _SEPARATORS.split(plain) if p]
    if 1 < len(parts) <= room and all(len(p) == 1 and p in "12345" for p in parts):
        return [int(p) for p in parts]
    return None


def is_skip(text: str) -> bool:
    """A comment that says "nothing to add"."""
    return text.strip().lower().rstrip("。.!！") in SKIP_WORDS


def opening_text(
    respondent_kind: str, *, name: str, student: str, round_: str, questions: list[str]
) -> str:
    """The pushed message that starts a survey, ending with its first question."""
    head = OPENING[respondent_kind].format(
        name=name, student=student, moment=MOMENT[round_], n=len(questions), scale=SCALE_HINT
    )
    first = QUESTION.format(i=1, n=len(questions), q=questions[0])
    return "\n".join([head, first, RESUME_HINT])


def reminder_text(*, student: str, questions: list[str], next_index: int) -> str:
    """The one reminder, ending with the question the respondent is at."""
    head = REMINDER.format(student=student, scale=SCALE_HINT)
    if next_index >= len(questions):
        q = COMMENT_QUESTION
    else:
        q = QUESTION.format(i=next_index + 1, n=len(questions), q=questions[next_index])
    return "\n".join([head, q, RESUME_HINT])


def average(scores: list[int | None]) -> float | None:
    """The mean of the answered scores, or None when nothing is answered."""
    given = [s for s in scores if s is not None]
    return round(sum(given) / len(given), 2) if given else None
