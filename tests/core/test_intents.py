"""Intent detection: leading command words, English words, and free text via jieba synonyms."""

from __future__ import annotations

import random

import pytest

from core import text as zh
from core.demo_data import JOURNAL_SENTENCES
from core.intents import control_word, detect, journal_kind


@pytest.mark.parametrize(
    ("text", "intent", "rest"),
    [
        ("周记 本周我学会了更换机油", "journal", "本周我学会了更换机油"),
        ("日报今天学习了拆装发动机", "journal", "今天学习了拆装发动机"),
        ("维权 老板不发工资", "report", "老板不发工资"),
        ("求助", "report", ""),
        ("状态", "status", ""),
        ("我的", "status", ""),
        ("批阅 J12 90 写得很好", "grade", "J12 90 写得很好"),
        ("处理 T3 已联系企业", "handle", "T3 已联系企业"),
        ("结案 T3 已解决", "handle", "T3 已解决"),
        ("绑定 AB12CD", "bind", "AB12CD"),
        ("取消", "cancel", ""),
        ("提交", "submit", ""),
        ("打卡记录", "status", ""),
        ("/journal weekly", "journal", "weekly"),
        ("weekly This week I learned a lot", "journal", "This week I learned a lot"),
        ("report my boss shouts at me", "report", "my boss shouts at me"),
        ("status", "status", ""),
        ("cancel", "cancel", ""),
    ],
)
def test_leading_command_words_name_the_intent_and_give_the_rest(text, intent, rest):
    assert detect(text) == (intent, rest)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我到公司了", "checkin"),
        ("打卡", "checkin"),
        ("上班了", "checkin"),
        ("下班啦", "checkin"),
        ("写个周记", "journal"),
        ("我要写日报", "journal"),
        ("这个月的月报怎么写", "journal"),
        ("老板不发工资", "report"),
        ("被扣押身份证", "report"),
        ("我要投诉", "report"),
        ("我的工资没发", "report"),  # 我的 is a status command only on its own
        ("今天上班被机器砸伤了", "report"),  # a complaint wins over 上班
        ("加班到半夜也没有加班费", "report"),
        ("查看状态", "status"),
        ("看看我的考勤", "status"),
        ("忘记打卡了", "makeup"),
        ("今天谁没签到", "today"),
        ("解除绑定", "unbind"),
        ("你好", "help"),
        ("I am at work", "checkin"),
        ("I want to write my daily journal", "journal"),
        ("I have a complaint", "report"),
        ("hello", "help"),
    ],
)
def test_free_text_with_the_same_meaning_finds_the_intent(text, intent):
    assert detect(text)[0] == intent


@pytest.mark.parametrize("text", ["今天天气不错", "哈哈", "what", "helpful tips"])
def test_text_without_an_intent_gives_none(text):
    assert detect(text) == (None, text)


def test_free_text_gives_the_whole_text_back():
    assert detect("老板不发工资") == ("report", "老板不发工资")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("日报", "daily"),
        ("写个周记", "weekly"),
        ("周报", "weekly"),
        ("月报", "monthly"),
        ("实习总结", "summary"),
        ("/journal weekly", "weekly"),
        ("daily: today I fixed brakes", "daily"),
        ("I want to write my monthly report", "monthly"),
        ("我要写东西", None),
        ("weekday", None),
    ],
)
def test_journal_kind_names_the_kind(text, kind):
    assert journal_kind(text) == kind


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("提交", "submit"),
        ("写完了", "submit"),
        ("Submit", "submit"),
        ("取消", "cancel"),
        ("不写了", "cancel"),
        ("cancel", "cancel"),
        ("提交一下我的想法", None),
    ],
)
def test_control_words_inside_a_dialog(text, word):
    assert control_word(text) == word


def test_the_domain_dictionary_keeps_internship_words_whole():
    words = zh.cut("我在实习单位顶岗实习，指导教师说三方协议和实习保险都要办")
    for word in ("实习单位", "顶岗实习", "指导教师", "三方协议", "实习保险"):
        assert word in words


def test_length_counts_chinese_characters_and_english_words():
    assert zh.han_count("今天学习了 brake 更换，用时 3 小时。") == 11
    assert zh.length("今天学习了 brake 更换") == 8
    assert zh.length("I changed the oil today") == 5


def test_keywords_are_extracted_from_a_journal():
    text = (
        "本周在车间跟着师傅学习汽车保养，更换机油和机油滤清器，检查刹车片磨损，学会了使用举升机。"
    )
    keywords = zh.keywords(text)
    assert "机油" in keywords
    assert len(keywords) <= 8


def test_keywords_rank_as_jieba_analyse_does():
    import jieba.analyse  # the reference; the product does not import it (its POS tagger)

    rng = random.Random(7)
    for _ in range(60):
        text = "".join(rng.sample(JOURNAL_SENTENCES, rng.randint(1, 8))) + " Excel 3 次"
        tags = jieba.analyse.extract_tags(text, topK=16)
        expected = [t for t in tags if t not in zh.STOP_KEYWORDS and not t.isdigit()][:8]
        assert zh.keywords(text) == expected
