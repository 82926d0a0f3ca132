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


@dataclass(frozen=True)
class Classification:
    category: str
    severity: str  # normal | urgent
    scores: dict[str, float] = field(default_factory=dict)
    matched: tuple[str, ...] = ()

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
    for word, entries in table.items():
        if len(word) >= 2 and not word.isascii() and word not in seen and word in text:
            for category, weight in entries:
                totals[category] = totals.get(category, 0.0) + weight * SUBSTRING_SHARE
            matched.append(word)
    return totals, matched


def is_urgent_text(text: str) -> bool:
    lowered = text.lower()
    for word in urgent_words():
        if word.isascii():  # English words whole ("fire" is not in "fired")
            if re.search(rf"\b{re.escape(word)}\b", lowered):
                return True
        elif word in lowered:
            return True
    return False


def classify(text: str) -> Classification:
    """The best category for a complaint (or "other") and its severity."""
    totals, matched = scores(text)
    category = "other"
    if totals:
        best = max(totals.values())
        category = next(c for c in PRIORITY if totals.get(c) == best)
    urgent = category in URGENT_CATEGORIES or is_urgent_text(text)
    return Classification(
        category=category,
        severity="urgent" if urgent else "normal",
        scores=totals,
        matched=tuple(dict.fromkeys(matched)),
    )


def category_name(category: str, lang: str = "zh") -> str:
    names = CATEGORY_EN if lang == "en" else CATEGORY_ZH
    return names.get(category, names["other"])
