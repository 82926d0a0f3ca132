"""Menus per role: WeChat conditional menus (one user tag per role) and Telegram command lists.

WeChat shows a user the newest conditional menu whose `matchrule.tag_id` is one of the user's
tags, else the default menu; so each role has a tag, set when the user binds, and a menu of its
own. `menu_problems` checks a menu against the shape WeChat documents for menu/create and
menu/addconditional, so a bad one fails here rather than in WeChat.
"""

from __future__ import annotations

from bot.wechat import CLICK_KEYS, MENU

# The WeChat user tag of each role (tags/create: names of at most 30 characters).
ROLE_TAGS = {
    "student": "学生",
    "teacher": "指导教师",
    "parent": "家长",
    "mentor": "企业导师",
    "school_admin": "学校管理员",
}


def _click(name: str, key: str) -> dict:
    return {"type": "click", "name": name, "key": key}


HELP = _click("使用帮助", "HELP")
# Students keep the menu they had (it is also the default, for whoever has no tag yet).
WECHAT_MENUS: dict[str, dict] = {
    "student": MENU,
    "teacher": {
        "button": [
            _click("今日", "TODAY"),
            _click("待办", "TODO"),
            {
                "name": "更多",
                "sub_button": [
                    _click("批阅日志", "GRADE"),
                    _click("请假审批", "LEAVE"),
                    _click("补卡审批", "MAKEUP"),
                    HELP,
                ],
            },
        ]
    },
    "parent": {"button": [_click("孩子状态", "STATUS"), HELP]},
    "mentor": {
        "button": [_click("今日", "TODAY"), _click("批阅", "GRADE"), _click("帮助", "HELP")]
    },
    "school_admin": {
        "button": [_click("待办", "TODO"), _click("批阅", "GRADE"), _click("帮助", "HELP")]
    },
}

# Telegram: the commands each role sees in its chat (setMyCommands, BotCommandScopeChat).
TELEGRAM_COMMANDS: dict[str, list[tuple[str, str, str]]] = {  # (command, 中文, English)
    "student": [
        ("status", "我的签到和日志", "My check-ins and journals"),
        ("journal", "写日志", "Write a journal"),
        ("report", "维权求助", "Report a problem"),
        ("makeup", "补卡申请", "Ask for a make-up check-in"),
        ("leave", "请假", "Ask for leave"),
        ("help", "使用帮助", "Help"),
    ],
    "teacher": [
        ("today", "今日签到", "Today's check-ins"),
        ("todo", "待办", "To do"),
        ("grade", "批阅日志", "Grade journals"),
        ("handle", "处理工单或预警", "Handle a ticket or alert"),
        ("leave", "请假审批", "Leave requests"),
        ("help", "使用帮助", "Help"),
    ],
    "parent": [
        ("status", "孩子状态", "My child's attendance"),
        ("help", "使用帮助", "Help"),
    ],
    "mentor": [
        ("today", "实习生今日签到", "Interns' check-ins today"),
        ("grade", "批阅日志", "Grade journals"),
        ("help", "使用帮助", "Help"),
    ],
    "school_admin": [
        ("todo", "待办", "To do"),
        ("handle", "处理工单或预警", "Handle a ticket or alert"),
        ("grade", "批阅日志", "Grade journals"),
        ("help", "使用帮助", "Help"),
    ],
}
# Before binding: how to bind (the default scope).
TELEGRAM_DEFAULT = [("bind", "绑定身份", "Link your account"), ("help", "使用帮助", "Help")]

# WeChat's documented limits (menu/create, menu/addconditional).
MAX_BUTTONS, MAX_SUB_BUTTONS = 3, 5
MAX_TOP_NAME, MAX_SUB_NAME = 16, 60  # bytes (UTF-8): 4 Chinese characters on top
MAX_KEY, MAX_URL = 128, 1024  # bytes
KEYED = {
    "click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
    "pic_weixin", "location_select",
}  # fmt: skip
TYPES = KEYED | {"view", "miniprogram", "media_id", "article_id", "article_view_limited"}


def _size(text) -> int:
    return len(str(text).encode())


def _button_problems(button: dict, where: str, *, top: bool) -> list[str]:
    problems: list[str] = []
    name = button.get("name", "")
    limit = MAX_TOP_NAME if top else MAX_SUB_NAME
    if not name or _size(name) > limit:
        problems.append(f"{where}: name {name!r} must be 1-{limit} bytes")
    subs = button.get("sub_button")
    if top and subs:
        if "type" in button:
            problems.append(f"{where}: a button with sub_button has no type")
        if len(subs) > MAX_SUB_BUTTONS:
            problems.append(f"{where}: {len(subs)} sub-buttons (at most {MAX_SUB_BUTTONS})")
        for i, sub in enumerate(subs):
            problems += _button_problems(sub, f"{where}.sub_button[{i}]", top=False)
        return problems
    if subs:
        problems.append(f"{where}: sub-buttons cannot have sub-buttons")
    kind = button.get("type")
    if kind not in TYPES:
        problems.append(f"{where}: type {kind!r} is not one WeChat knows")
    if kind in KEYED:
        key = button.get("key", "")
        if not key or _size(key) > MAX_KEY:
            problems.append(f"{where}: key {key!r} must be 1-{MAX_KEY} bytes")
        elif kind == "click" and key not in CLICK_KEYS:
            problems.append(f"{where}: key {key!r} has no meaning in bot.wechat.CLICK_KEYS")
    if kind == "view" and not 0 < _size(button.get("url", "")) <= MAX_URL:
        problems.append(f"{where}: url must be 1-{MAX_URL} bytes")
    return problems


def menu_problems(menu: dict, *, conditional: bool = False) -> list[str]:
    """What WeChat would refuse in a menu/create (or menu/addconditional) body; [] if none."""
    buttons = menu.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        return [f"button: 1-{MAX_BUTTONS} top-level buttons required"]
    problems: list[str] = []
    for i, button in enumerate(buttons):
        problems += _button_problems(button, f"button[{i}]", top=True)
    rule = menu.get("matchrule")
    if conditional and not (isinstance(rule, dict) and str(rule.get("tag_id", "")).strip()):
        problems.append("matchrule: a conditional menu needs a tag_id")
    if not conditional and rule is not None:
        problems.append("matchrule: only conditional menus have one")
    return problems


def conditional_menu(role: str, tag_id: int, menu: dict | None = None) -> dict:
    """The addconditional body for a role: its menu, shown to users with its tag."""
    return {**(menu or WECHAT_MENUS[role]), "matchrule": {"tag_id": str(tag_id)}}


def telegram_commands(role: str | None, lang: str) -> list[dict]:
    """setMyCommands' `commands` for a role (None: not bound yet), in the user's language."""
    rows = TELEGRAM_COMMANDS.get(role or "", TELEGRAM_DEFAULT)
    return [{"command": c, "description": en if lang == "en" else zh} for c, zh, en in rows]
