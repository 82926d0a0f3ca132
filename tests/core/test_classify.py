"""The ticket classifier on a labelled set of real-style complaints, and its severity rules."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from core.classify import category_name, classify
from models.tickets import TICKET_CATEGORIES

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "complaints.tsv"


def labelled() -> list[tuple[str, str]]:
    rows = []
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            category, text = line.split("\t")
            rows.append((category, text))
    return rows


def test_the_labelled_set_has_60_complaints_covering_every_category():
    rows = labelled()
    assert len(rows) >= 60
    assert set(Counter(c for c, _ in rows)) == set(TICKET_CATEGORIES)


def test_the_classifier_gets_at_least_85_percent_of_the_labelled_set_right():
    rows = labelled()
    wrong = [(c, classify(t).category, t) for c, t in rows if classify(t).category != c]
    accuracy = 1 - len(wrong) / len(rows)
    print(f"\nticket classifier accuracy: {accuracy:.1%} ({len(rows) - len(wrong)}/{len(rows)})")
    for expected, got, text in wrong:
        print(f"  expected {expected}, got {got}: {text}")
    assert accuracy >= 0.85


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("今天在车间被机器夹伤了手指", "safety"),
        ("主管对我动手动脚", "harassment"),
    ],
)
def test_safety_and_harassment_are_urgent(text, category):
    result = classify(text)
    assert (result.category, result.severity) == (category, "urgent")


def test_urgent_words_make_any_category_urgent():
    result = classify("工资三个月没发，我真的不想活了")
    assert result.category == "wages"
    assert result.severity == "urgent"


def test_an_ordinary_complaint_is_normal():
    result = classify("宿舍没有热水，冬天只能洗冷水澡")
    assert (result.category, result.severity) == ("housing", "normal")


def test_text_without_a_known_problem_is_other():
    assert classify("请问实习结束以后能不能留在公司").category == "other"


def test_english_complaints_are_classified_by_whole_words():
    assert classify("My boss has not paid my wages for two months").category == "wages"
    assert classify("I got injured at the machine today").severity == "urgent"
    assert classify("I was fired yesterday").severity == "normal"  # "fire" is not in "fired"


def test_categories_have_chinese_and_english_names():
    assert category_name("fees") == "收费、押金与中介"
    assert category_name("housing", "en") == "housing and meals"
    assert category_name("nonsense") == "其他"
