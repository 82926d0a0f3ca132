"""Which intent a chat message expresses: command words first, then free text (jieba + synonyms)."""

from __future__ import annotations

import re

from core import text as zh
from core.classify import classify

# Leading words of the chat grammar (SPEC section 2) and the intent each names.
COMMAND_WORDS = {
    "绑定": "bind",
    "签到": "checkin",
    "打卡": "checkin",
    "签到记录": "status",
    "打卡记录": "status",
    "日报": "journal",
    "周记": "journal",
    "月报": "journal",
    "总结": "journal",
    "维权": "report",
    "反馈": "report",
    "求助": "report",
    "投诉": "report",
    "状态": "status",
    "我的": "status",
    "补卡": "makeup",
    "请假": "leave",
    "帮助": "help",
    "今日": "today",
    "待办": "todo",
    "批阅": "grade",
    "处理": "handle",
    "结案": "handle",
    "学生": "student",
    "取消": "cancel",
    "解绑": "unbind",
    "提交": "submit",
}
# Command words that only count as the whole message ("我的工资没发" is not a status request).
EXACT_ONLY = frozenset({"我的"})

# English words (Telegram users writing in English, or commands typed as text).
ENGLISH_WORDS = {
    "start": "bind",
    "bind": "bind",
    "checkin": "checkin",
    "check-in": "checkin",
    "journal": "journal",
    "daily": "journal",
    "weekly": "journal",
    "monthly": "journal",
    "summary": "journal",
    "report": "report",
    "complaint": "report",
    "complain": "report",
    "status": "status",
    "me": "status",
    "makeup": "makeup",
    "leave": "leave",
    "approve": "approve",
    "reject": "reject",
    "help": "help",
    "menu": "help",
    "today": "today",
    "todo": "todo",
    "grade": "grade",
    "handle": "handle",
    "resolve": "handle",
    "close": "handle",
    "student": "student",
    "cancel": "cancel",
    "unbind": "unbind",
    "submit": "submit",
    "done": "submit",
}

# Free text: phrases (found anywhere) per intent, tried in this order; the first hit wins.
# Make-up before check-in ("忘记打卡"), journals and reports before check-in ("上班被砸伤").
SYNONYMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cancel", ("不写了", "算了", "不要了", "不用了", "never mind")),
    ("makeup", ("补卡", "补签", "忘记打卡", "忘了打卡", "忘记签到", "忘了签到", "漏打卡", "漏签")),
    ("leave", ("请假", "请个假", "请病假", "请事假", "day off", "sick leave")),
    (
        "journal",
        (
            "日报",
            "周记",
            "周报",
            "月报",
            "日志",
            "实习日记",
            "写总结",
            "交总结",
            "实习总结",
            "实习报告",
            "journal",
            "diary",
            "daily report",
            "weekly report",
        ),
    ),
    (
        "today",
        ("谁没签到", "谁没打卡", "谁还没", "今日情况", "今天情况", "缺勤名单", "who is missing"),
    ),
    (
        "report",
        (
            "维权",
            "投诉",
            "举报",
            "求助",
            "反映问题",
            "反映一个问题",
            "救命",
            "报警",
            "帮帮我",
            "欺负",
            "complain",
            "complaint",
            "report a problem",
            "problem",
        ),
    ),
    ("unbind", ("解除绑定", "取消绑定", "unbind")),
    ("bind", ("绑定", "邀请码", "invite code")),
    (
        "status",
        (
            "查看状态",
            "我的状态",
            "我的记录",
            "出勤",
            "考勤",
            "签到记录",
            "打卡记录",
            "查询",
            "my status",
            "attendance",
            "my records",
        ),
    ),
    (
        "checkin",
        (
            "打卡",
            "签到",
            "到公司",
            "到单位",
            "到厂",
            "到岗",
            "上班",
            "下班",
            "开工",
            "收工",
            "我到了",
            "check in",
            "clock in",
            "clock out",
            "at work",
            "arrived",
        ),
    ),
    (
        "help",
        ("帮助", "怎么用", "如何使用", "你好", "您好", "在吗", "菜单", "功能", "hello", "help"),
    ),
)
# A free-text complaint counts as a report when the classifier is at least this sure.
REPORT_MIN_SCORE = 3.0

# Journal kinds by the words that name them, Chinese and English.
KIND_WORDS = (
    ("daily", ("日报", "日志", "日记", "daily", "day")),
    ("weekly", ("周记", "周报", "weekly", "week")),
    ("monthly", ("月报", "月记", "monthly", "month")),
    ("summary", ("总结", "实习报告", "summary", "final")),
)

SUBMIT_WORDS = frozenset(
    {"提交", "提交了", "交", "写完了", "写好了", "完成", "submit", "done", "/submit"}
)
CANCEL_WORDS = frozenset(
    {"取消", "不写了", "算了", "不要了", "放弃", "cancel", "/cancel", "stop", "never mind"}
)

_LEAD_EN = re.compile(r"^/?([A-Za-z][A-Za-z-]*)(?:@\w+)?(?:\s+|$)(.*)$", re.S)
_EN_TOKEN = re.compile(r"[a-z]+")


def detect(text: str, lang: str = "zh") -> tuple[str | None, str]:
    """Return (intent, the rest of the text) or (None, text) when nothing is recognised.

    A leading command word gives the text after it; free text gives the whole text back.
    """
    stripped = text.strip()
    if not stripped:
        return None, ""
    lead = leading_command(stripped)
    if lead is not None:
        return lead[0], lead[2]
    return free_text_intent(stripped), stripped


def leading_command(text: str) -> tuple[str, str, str] | None:
    """(intent, the command word, the rest) when the text starts with a command word."""
    stripped = text.strip()
    m = _LEAD_EN.match(stripped)
    if m and m.group(1).lower() in ENGLISH_WORDS:
        return ENGLISH_WORDS[m.group(1).lower()], m.group(1), m.group(2).strip()
    for word in sorted(COMMAND_WORDS, key=len, reverse=True):
        if stripped.startswith(word):
            rest = stripped[len(word) :].lstrip(" \t\n:：，,、")
            if word in EXACT_ONLY and rest:
                continue
            return COMMAND_WORDS[word], word, rest.strip()
    return None


def free_text_intent(text: str) -> str | None:
    """The intent of a sentence without a command word, or None."""
    lowered = text.lower()
    tokens = set(zh.cut(lowered))
    for intent, phrases in SYNONYMS:
        if intent == "checkin" and _complaint(text):
            return "report"
        for phrase in phrases:
            if phrase in tokens or phrase in lowered:
                if phrase.isascii() and not _has_english(lowered, phrase):
                    continue
                return intent
    return "report" if _complaint(text) else None


def journal_kind(text: str) -> str | None:
    """Which journal kind a text names (the first kind word in it), or None."""
    lowered = text.lower()
    words = set(_EN_TOKEN.findall(lowered))
    best: tuple[int, str] | None = None
    for kind, names in KIND_WORDS:
        for name in names:
            if name.isascii():
                pos = lowered.find(name) if name in words else -1
            else:
                pos = lowered.find(name)
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, kind)
    return best[1] if best else None


def control_word(text: str) -> str | None:
    """ "submit" or "cancel" when a message inside a dialog is just that word."""
    word = text.strip().lower().rstrip("。.!！")
    if word in SUBMIT_WORDS:
        return "submit"
    if word in CANCEL_WORDS:
        return "cancel"
    return None


def _complaint(text: str) -> bool:
    result = classify(text)
    return result.category != "other" and max(result.scores.values()) >= REPORT_MIN_SCORE


def _has_english(lowered: str, phrase: str) -> bool:
    """An English phrase counts only as whole words ("help" is not in "helpful")."""
    return re.search(rf"\b{re.escape(phrase)}\b", lowered) is not None
