"""日报/周记/月报/总结 as dialogs: compose, submit, one message, cancel, timeouts, replacement."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, select

from bot.pipeline import Pipeline
from core.journals import journals_submitted_since
from core.text import length
from models import ConversationState, Journal, SchoolDay
from models.db import make_engine

# 38 and 39 Chinese characters, as a student on a car-repair placement writes them.
LINE = "今天在车间跟着师傅学习更换刹车片，先拆下轮胎再检查磨损情况，最后按规定力矩装回去。"
LINE2 = "下午跟着师傅做了一次发动机保养，更换机油和机油滤清器，还学会了使用举升机和扭力扳手。"
TOTAL = length(LINE * 3 + LINE2 * 3)
# 17 words each.
LINE_EN = (
    "Today I helped my mentor replace the brake pads on a customer car and checked the tyres. "
)


# The replies of a journal dialog, whole (the dialog tables compare them exactly).
def started(kind: str, needed: int) -> str:
    return (
        f"好的，开始写{kind}（至少 {needed} 字）。请发送内容，可以分多条发送；"
        "写完后发送「提交」，发送「取消」放弃。"
    )


def added(kind: str, count: int, missing: int) -> str:
    return f"已记录，{kind}目前共 {count} 字，还差 {missing} 字。继续发送，或发送「取消」放弃。"


def enough(kind: str, count: int) -> str:
    return f"已记录，{kind}目前共 {count} 字，已达到字数要求。可以继续补充，或发送「提交」。"


def submitted(kind: str, label: str, count: int, no: int) -> str:
    return f"{kind}已提交（{label}，共 {count} 字），编号 J{no}。老师批阅后会通知您。"


def _journals(session) -> list[Journal]:
    session.expire_all()
    return list(session.exec(select(Journal).order_by(Journal.id)).all())


def test_weekly_journal_composed_over_several_messages_then_submitted(session, chat, bound_student):
    bound_student()
    # The placement began in the week of Monday 2026-01-26, so 2026-03-02 starts week 6.
    chat.dialog(
        [
            ("周记", started("周记", 200)),
            (LINE * 3, added("周记", 114, 86)),
            (LINE2 * 3, enough("周记", TOTAL)),
            ("提交", submitted("周记", "第 6 周", TOTAL, 1)),
        ]
    )
    (row,) = _journals(session)
    assert (row.kind, row.period_start, row.char_count) == ("weekly", date(2026, 3, 2), TOTAL)
    assert row.status == "submitted" and LINE in row.text and LINE2 in row.text
    assert "机油" in row.keywords
    assert session.exec(select(SchoolDay)).one().journals == 1
    assert session.exec(select(ConversationState)).first() is None


def test_a_long_enough_journal_in_one_message_is_submitted_at_once(session, chat, bound_student):
    bound_student()
    reply = chat.send("日报 " + LINE + LINE2)
    assert "日报已提交（3月2日，共 " in reply and "编号 J1" in reply
    assert _journals(session)[0].period_start == date(2026, 3, 2)


def test_a_short_journal_is_refused_with_the_characters_missing(session, chat, bound_student):
    bound_student()
    chat.dialog(
        [
            ("周记 " + LINE, added("周记", 38, 162)),
            ("提交", "周记还差 162 个字（现在 38 字，至少 200 字）。请继续补充后再发送「提交」。"),
        ]
    )
    assert _journals(session) == []
    total = length(LINE + LINE2 * 5)
    chat.dialog(
        [(LINE2 * 5, enough("周记", total)), ("提交", submitted("周记", "第 6 周", total, 1))]
    )


def test_cancel_drops_the_draft(session, chat, bound_student):
    bound_student()
    chat.dialog(
        [
            ("月报", started("月报", 500)),
            (LINE, added("月报", 38, 462)),
            ("取消", "已取消，月报草稿已删除。"),
            ("提交", "您现在没有正在写的日志。发送「日报」「周记」「月报」或「总结」开始写。"),
        ]
    )
    assert _journals(session) == []


def test_a_draft_times_out_after_the_configured_hours(session, chat, bound_student):
    bound_student()
    chat.dialog([("周记", started("周记", 200)), (LINE * 6, enough("周记", 228))])
    chat.later(hours=24, minutes=1)
    assert "您现在没有正在写的日志" in chat.send("提交")
    assert _journals(session) == []


def test_resubmitting_the_same_week_before_grading_replaces_it(session, chat, bound_student):
    bound_student()
    assert "周记已提交" in chat.send("周记 " + LINE * 6)
    chat.later(days=2)
    reply = chat.send("周记 " + LINE2 * 6)
    assert "周记已提交（第 6 周" in reply and "之前提交的版本已被替换" in reply
    (row,) = _journals(session)
    assert LINE2 in row.text and LINE not in row.text
    assert session.exec(select(SchoolDay)).one().journals == 1  # counted once per period


def test_a_new_week_gives_a_new_weekly_journal(session, chat, bound_student):
    bound_student()
    chat.send("周记 " + LINE * 6)
    assert "第 7 周" in chat.later(days=7).send("周记 " + LINE * 6)
    assert [j.period_start for j in _journals(session)] == [date(2026, 3, 2), date(2026, 3, 9)]


def test_a_graded_journal_cannot_be_replaced(session, chat, bound_student):
    bound_student()
    chat.send("周记 " + LINE * 6)
    row = _journals(session)[0]
    row.status, row.score = "graded", 88
    session.add(row)
    session.commit()
    reply = chat.send("周记 " + LINE2 * 6)
    assert "已经被老师批阅（88 分），不能再修改" in reply
    assert LINE in _journals(session)[0].text


def test_free_text_starts_a_journal_of_the_named_kind(session, chat, bound_student):
    bound_student()
    chat.dialog([("我要写日报", started("日报", 50)), (LINE + LINE2, enough("日报", 77))])
    assert "日报已提交" in chat.send("提交")


def test_the_journal_command_without_a_kind_asks_which_one(session, chat, bound_student):
    bound_student()
    assert "日报、周记、月报还是总结" in chat.send("", intent="journal")
    chat.dialog([("总结", started("总结", 1000)), ("取消", "已取消，总结草稿已删除。")])


def test_a_bare_command_word_inside_a_draft_is_not_added_to_it(session, chat, bound_student):
    bound_student()
    chat.dialog(
        [
            ("周记", started("周记", 200)),
            (LINE, added("周记", 38, 162)),
            (
                "周记",
                "您正在写周记（已写 38 字）。继续发送内容，发送「提交」完成，或「取消」放弃。",
            ),
        ]
    )


def test_summary_belongs_to_the_placement_start(session, chat, bound_student):
    bound_student()
    reply = chat.send("总结 " + (LINE + LINE2) * 13)
    assert "总结已提交（实习总结" in reply
    assert _journals(session)[0].period_start == date(2026, 2, 1)


def test_english_weekly_journal_for_telegram_users(session, english_telegram):
    _, tg = english_telegram("777")
    assert "starting your weekly journal (at least 200 words)" in tg.send(
        "weekly", intent="journal"
    )
    assert "more needed" in tg.send(LINE_EN * 6)
    assert "Your weekly journal needs" in tg.send("submit", intent="submit")
    tg.send(LINE_EN * 6)
    reply = tg.send("", intent="submit")
    assert "Your weekly journal is submitted (week 6, 204 words), no. J1" in reply


def test_a_draft_survives_a_restart_in_the_middle(
    session, settings, engine, chat, now, bound_student
):
    bound_student()
    chat.dialog([("周记", started("周记", 200)), (LINE * 3, added("周记", 114, 86))])
    # A new process: a fresh engine and dispatcher, nothing carried over in memory.
    engine.dispose()
    fresh = make_engine(settings.database.url)
    try:
        chat.dispatcher = Pipeline(fresh, settings)
        chat.later(hours=2).dialog(
            [(LINE2 * 3, enough("周记", TOTAL)), ("提交", submitted("周记", "第 6 周", TOTAL, 1))]
        )
    finally:
        fresh.dispose()
    with Session(make_engine(settings.database.url)) as check:
        assert check.exec(select(Journal)).one().char_count == length(LINE * 3 + LINE2 * 3)


def test_journals_submitted_since_lists_a_teachers_new_journals(session, chat, now, bound_student):
    student = bound_student()
    chat.send("日报 " + LINE + LINE2)
    rows = journals_submitted_since(session, teacher_id=student.teacher_id, since=now)
    assert [(j.kind, s.name) for j, s in rows] == [("daily", "张三")]
    later = journals_submitted_since(
        session, teacher_id=student.teacher_id, since=now + timedelta(minutes=1)
    )
    assert later == []


def test_starting_another_kind_keeps_the_open_draft(session, chat, bound_student):
    bound_student()
    chat.dialog(
        [
            ("周记", started("周记", 200)),
            (LINE, added("周记", 38, 162)),
            ("日报", "您有一篇未提交的周记（已写 38 字）。请先发送「提交」或「取消」，再写日报。"),
            ("周记 " + LINE2, added("周记", 77, 123)),
        ]
    )
