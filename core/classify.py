"""Ticket category and severity from a complaint: a jieba keyword classifier (core/data)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from core import text as zh
from models.tickets import TICKET_CATEGORIES, URGENT_CATEGORIES

# Names shown to students and teachers.
CATEGORY_ZH = {
    "wages": "工资报酬",
    "overtime": "加班与工时",
    "safety": "安全",
    "harassment": "骚扰与人身权益",
    "fees": "收费、押金与中介",
    "housing": "食宿",
    "contract": "协议与保险",
    "other": "其他",
}
CATEGORY_EN = {
    "wages": "wages",
    "overtime": "overtime and working hours",
    "safety": "safety",
    "harassment": "harassment and personal rights",
    "fees": "fees, deposits and agencies",
    "housing": "housing and meals",
    "contract": "agreement and insurance",
    "other": "other",
}
# On a tie the more serious category wins: a missed alert costs more than a spare one.
PRIORITY = ("safety", "harassment", "wages", "overtime", "fees", "contract", "housing")
# Words of two or more characters also count inside other words (工资卡), at this share.
SUBSTRING_SHARE = 0.5
# A category also applies when it scores at least this (one strong keyword): "两个月没发工资，
# 还扣了身份证" is wages and fees.
ALSO_MIN_SCORE = 3.0


@dataclass(frozen=True)
class Classification:
    category: str
    severity: str  # normal | urgent
    scores: dict[str, float] = field(default_factory=dict)
    matched: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # every one that applies, the main one first

    @property
    def urgent(self) -> bool:
        return self.severity == "urgent"


@cache
def keyword_table() -> dict[str, tuple[tuple[str, float], ...]]:
    """word -> ((category, weight), ...) from core/data/ticket_keywords.txt."""
    table: dict[str, list[tuple[str, float]]] = {}
    for line in zh.read_lines("ticket_keywords.txt"):
        category, weight, *words = line.split()
        if category not in TICKET_CATEGORIES:
            raise ValueError(f"ticket_keywords.txt: unknown category {category!r}")
        for word in words:
            table.setdefault(word, []).append((category, float(weight)))
    zh.add_words(w for w in table if len(w) > 1 and not w.isascii())
    return {w: tuple(v) for w, v in table.items()}


@cache
def substring_words() -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    """The Chinese keywords of two or more characters, which also count inside other words."""
    return tuple((w, v) for w, v in keyword_table().items() if len(w) >= 2 and not w.isascii())


@cache
def urgent_words() -> tuple[str, ...]:
    return tuple(w for line in zh.read_lines("urgent_words.txt") for w in line.split())


def scores(text: str) -> tuple[dict[str, float], list[str]]:
    """Category scores of a text and the dictionary words that produced them."""
    table = keyword_table()
    totals: dict[str, float] = {}
    matched: list[str] = []
    text = text.lower()  # the English keywords are lower case
    tokens = zh.cut(text)
    for token in tokens:
        for category, weight in table.get(token, ()):
            totals[category] = totals.get(category, 0.0) + weight
            matched.append(token)
    seen = set(tokens)
    for word, entries in substring_words():
        if word in text and word not in seen:
            for category, weight in entries:
                totals[category] = totals.get(category, 0.0) + weight * SUBSTRING_SHARE
            matched.append(word)
    return totals, matched


@cache
def _urgent_pattern() -> re.Pattern:
    """Any urgent word: English ones whole ("fire" is not in "fired"), Chinese ones anywhere."""
    words = sorted(urgent_words(), key=len, reverse=True)
    return re.compile(
        "|".join(rf"\b{re.escape(w)}\b" if w.isascii() else re.escape(w) for w in words)
    )


def is_urgent_text(text: str) -> bool:
    return _urgent_pattern().search(text.lower()) is not None


def classify(text: str) -> Classification:
    """The best category for a complaint (or "other") and its severity."""
    totals, matched = scores(text)
    category = "other"
    if totals:
        best = max(totals.values())
        category = next(c for c in PRIORITY if totals.get(c) == best)
    others = tuple(c for c in PRIORITY if c != category and totals.get(c, 0) >= ALSO_MIN_SCORE)
    urgent = any(c in URGENT_CATEGORIES for c in (category, *others)) or is_urgent_text(text)
    return Classification(
        category=category,
        severity="urgent" if urgent else "normal",
        scores=totals,
        matched=tuple(dict.fromkeys(matched)),
        categories=(category, *others),
    )


def category_names(categories, lang: str = "zh") -> str:
    """工资报酬、收费、押金与中介 — the categories of a ticket in words."""
    return (", " if lang == "en" else "、").join(category_name(c, lang) for c in categories)


# What a student may write to correct a category (besides the names above).
CATEGORY_WORDS = {
    "工资": "wages", "欠薪": "wages", "报酬": "wages", "加班": "overtime", "工时": "overtime",
    "安全": "safety", "受伤": "safety", "骚扰": "harassment", "人身": "harassment",
    "收费": "fees", "押金": "fees", "中介": "fees", "证件": "fees", "食宿": "housing",
    "住宿": "housing", "伙食": "housing", "协议": "contract", "保险": "contract",
    "其他": "other", "其它": "other",
}  # fmt: skip


def category_of(word: str) -> str | None:
    """The category a student names when correcting one ("工资", "食宿", "wages"), or None."""
    word = word.strip().lower()
    for names in (CATEGORY_ZH, CATEGORY_EN):
        for category, name in names.items():
            if word == name.lower():
                return category
    if word in CATEGORY_ZH:
        return word
    return CATEGORY_WORDS.get(word) or next(
        (c for w, c in CATEGORY_WORDS.items() if word.startswith(w)), None
    )


def category_name(category: str, lang: str = "zh") -> str:
    names = CATEGORY_EN if lang == "en" else CATEGORY_ZH
    return names.get(category, names["other"])
