"""Which intent a chat message expresses: command words first, then free text."""

from __future__ import annotations

# Leading words of the chat grammar (SPEC section 2) and the intent each names.
COMMAND_WORDS = {
    "绑定": "bind",
    "签到": "checkin",
    "日报": "journal",
    "周记": "journal",
    "月报": "journal",
    "总结": "journal",
    "维权": "report",
    "反馈": "report",
    "求助": "report",
    "状态": "status",
    "我的": "status",
    "补卡": "makeup",
    "帮助": "help",
    "今日": "today",
    "批阅": "grade",
    "处理": "handle",
    "学生": "student",
    "取消": "cancel",
    "解绑": "unbind",
    "提交": "submit",
}


def detect(text: str, lang: str = "zh") -> tuple[str | None, str]:
    """Return (intent, the rest of the text) or (None, text) when nothing is recognised."""
    stripped = text.strip()
    for word, intent in COMMAND_WORDS.items():
        if stripped.startswith(word):
            return intent, stripped[len(word) :].strip()
    return None, stripped
