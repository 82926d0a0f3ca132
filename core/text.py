"""Chinese text: one lazily initialised jieba with the internship dictionary, counts, keywords."""

from __future__ import annotations

import logging
import re
import threading
from functools import cache
from pathlib import Path

import jieba

DATA = Path(__file__).parent / "data"
USERDICT = DATA / "userdict.txt"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*|\d+")
_lock = threading.Lock()
_ready = False

# Words that say nothing about a journal's content; kept out of its keywords.
STOP_KEYWORDS = frozenset(
    "今天 本周 这周 上周 这个 一个 我们 自己 什么 没有 还是 就是 可以 时候 已经 非常 比较 "
    "然后 因为 所以 但是 虽然 主要 进行 学习 一些 很多 一下 还有 觉得 知道 感觉".split()
)


def init() -> None:
    """Load the domain user dictionary once; later calls return at once (thread-safe)."""
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        # jieba logs its dictionary loading at INFO/DEBUG on every process start.
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        jieba.load_userdict(str(USERDICT))
        _ready = True


def add_words(words) -> None:
    """Teach jieba extra domain words (e.g. the ticket classifier's keywords)."""
    init()
    for word in words:
        jieba.add_word(word)


def cut(text: str) -> list[str]:
    """Segment text into words (whitespace and punctuation dropped)."""
    init()
    return [w for w in jieba.lcut(text, HMM=False) if w.strip() and not _is_punct(w)]


def han_count(text: str) -> int:
    """How many Chinese characters the text has."""
    return len(_HAN.findall(text))


def length(text: str) -> int:
    """Journal length: Chinese characters, plus one per word of Latin script or number."""
    without_han = _HAN.sub(" ", text)
    return han_count(text) + len(_LATIN_WORD.findall(without_han))


def keywords(text: str, top: int = 8) -> list[str]:
    """The text's most telling words (TF-IDF over jieba's corpus), best first."""
    init()
    # Imported on the first journal submitted: jieba.analyse brings its IDF table and the
    # part-of-speech tagger it imports (~95 MB) that nothing else here needs.
    import jieba.analyse

    tags = jieba.analyse.extract_tags(text, topK=top * 2)
    return [t for t in tags if t not in STOP_KEYWORDS and not t.isdigit()][:top]


@cache
def read_lines(name: str) -> tuple[str, ...]:
    """Non-empty, non-comment lines of a file in core/data."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return tuple(s for s in (line.strip() for line in lines) if s and not s.startswith("#"))


def _is_punct(word: str) -> bool:
    return all(not ch.isalnum() for ch in word)
