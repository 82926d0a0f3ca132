"""Chinese text: one lazily initialised jieba with the internship dictionary, counts, keywords."""

from __future__ import annotations

import logging
import re
import sys
import threading
from functools import cache
from operator import itemgetter
from pathlib import Path


def _import_jieba():
    """jieba imports pkg_resources (setuptools' ~12 MB, in every process) only to open files
    beside its own modules, and opens them directly when that import fails: let it fail."""
    if "pkg_resources" in sys.modules:  # already paid for by someone else
        import jieba
    else:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]
        try:
            import jieba
        finally:
            del sys.modules["pkg_resources"]
    return jieba


jieba = _import_jieba()

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
    """The text's most telling words (TF-IDF over jieba's corpus), best first.

    jieba.analyse.extract_tags's ranking, computed here from the same IDF table: importing
    jieba.analyse also loads the part-of-speech tagger (~55 MB, kept for the life of the
    writer process) that its TF-IDF without POS filters never uses.
    """
    init()
    idf, median = _idf()
    counts: dict[str, int] = {}
    for word in jieba.cut(text):
        if len(word.strip()) >= 2 and word.lower() not in _ANALYSE_STOP_WORDS:
            counts[word] = counts.get(word, 0) + 1
    total = sum(counts.values())
    weights = {word: n * (idf.get(word, median) / total) for word, n in counts.items()}
    tags = [word for word, _ in sorted(weights.items(), key=itemgetter(1), reverse=True)]
    return [t for t in tags[: top * 2] if t not in STOP_KEYWORDS and not t.isdigit()][:top]


# jieba.analyse's own stop words (KeywordExtractor.STOP_WORDS) and IDF table (analyse/idf.txt).
_ANALYSE_STOP_WORDS = frozenset(
    "the of is and to in that we for an are by be as on with can if from which you it this "
    "then at have all not one has or".split()
)


@cache
def _idf() -> tuple[dict[str, float], float]:
    """jieba's IDF of each word and their median (the weight of a word it does not know).

    Keyed by the very strings of jieba's dictionary (95 % of the IDF table's words are in it)
    and with its ~3,000 distinct weights shared: ~18 MB instead of ~45 MB of fresh copies.
    """
    own = {word: word for word in jieba.dt.FREQ}  # dropped on return
    values: dict[float, float] = {}
    idf: dict[str, float] = {}
    with (Path(jieba.__file__).parent / "analyse" / "idf.txt").open(encoding="utf-8") as lines:
        for line in lines:
            word, weight = line.strip().split(" ")
            value = float(weight)
            idf[own.get(word, word)] = values.setdefault(value, value)
    return idf, sorted(idf.values())[len(idf) // 2]


@cache
def read_lines(name: str) -> tuple[str, ...]:
    """Non-empty, non-comment lines of a file in core/data."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return tuple(s for s in (line.strip() for line in lines) if s and not s.startswith("#"))


def _is_punct(word: str) -> bool:
    return all(not ch.isalnum() for ch in word)
