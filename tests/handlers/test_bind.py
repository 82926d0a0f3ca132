"""Binding with one-time invite codes, and unbinding (SPEC section 2: bind, unbind)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core.invites import issue_invite
from handlers import bind as bind_handler
from models import BindFailure, ChannelAccount, Guardianship, InviteCode
from tests.factories import make_student

HOW_TO_BIND = bind_handler.HOW_TO_BIND[0]


def bound(who: str, role: str = "student") -> str:
    """The whole bind receipt: who, the privacy notice and the role's next step."""
    return "\n".join(
        [
            f"绑定成功：{who}。",
            bind_handler.PRIVACY[0].format(days=365),
            bind_handler.NEXT_STEP[role][0],
        ]
    )


def _code(session, now, kind="student", person_id=None, school_id=None, ttl_days=30) -> str:
    invite = issue_invite(
        session,
        person_kind=kind,
        person_id=person_id,
        school_id=school_id,
        now=now,
        ttl_days=ttl_days,
    )
    session.commit()
    return invite.code


def test_unbound_sender_is_told_how_to_bind(session, chat):
    chat.dialog([("你好", HOW_TO_BIND), ("状态", HOW_TO_BIND)])


def test_student_binds_with_code_and_receipt_names_them_with_privacy_notice(session, chat, now):
    student = make_student(session)
    code = _code(session, now, person_id=student.id, school_id=student.school_id)
    reply = chat.send(f"绑定 {code.lower()}")
    assert "绑定成功：学生 张三（学号 S001）、贵州交通职业技术学院" in reply
    for part in (  # true of the running system: what is kept, who sees it, for how long
        "微信上报的位置",
        "Telegram 实时位置",
        "精确位置仅本人、指导教师和学校管理员可见",
        "省级主管部门",
        "实习结束 365 天后删除",
        "解绑",
    ):
        assert part in reply
    account = session.exec(select(ChannelAccount)).one()
    assert (account.person_kind, account.person_id, account.school_id) == (
        "student",
        student.id,
        student.school_id,
    )
    assert session.exec(select(InviteCode)).one().used_by == account.id


def test_telegram_english_user_binds_with_start_deep_link(session, chat_factory, now):
    student = make_student(session)
    code = _code(session, now, person_id=student.id, school_id=student.school_id)
    chat = chat_factory("4242", channel="telegram", language="en")
    reply = chat.send(code, intent="bind")
    assert "Linked: student 张三 (student no. S001)" in reply
    assert "seen only by you, your teacher and your school admin" in reply
    account = session.exec(select(ChannelAccount)).one()
    assert account.language == "en"


def test_wechat_qrscene_key_carries_the_code(session, chat_factory, now):
    student = make_student(session)
    code = _code(session, now, person_id=student.id, school_id=student.school_id)
    chat = chat_factory("openid-1", channel="wechat")
    assert "绑定成功" in chat.send(f"qrscene_{code}", intent="bind", kind="event")


def test_used_expired_and_unknown_codes_are_refused_saying_which(session, chat_factory, now):
    student = make_student(session)
    used = _code(session, now, person_id=student.id, school_id=student.school_id)
    old = _code(session, now - timedelta(days=40), person_id=student.id, ttl_days=30)
    first = chat_factory("a")
    assert "绑定成功" in first.send(f"绑定 {used}")
    other = chat_factory("b")
    assert "已经使用过了" in other.send(f"绑定 {used}")
    assert "过期" in other.send(f"绑定 {old}")
    assert "不正确，请核对后重试（还可尝试 4 次）" in other.send("绑定 ZZZZZZZZ")
    assert "还可尝试 3 次" in other.send("绑定 ZZZZZZZY")


def test_five_wrong_codes_lock_the_sender_out_for_an_hour(session, chat, now):
    student = make_student(session)
    good = _code(session, now, person_id=student.id, school_id=student.school_id)
    for i in range(4):
        assert "不正确" in chat.later(minutes=1).send(f"绑定 WRONG00{i + 2}")
    reply = chat.later(minutes=1).send("绑定 WRONG009")
    assert "请于 10:05 之后再试" in reply
    assert "请于 10:05 之后再试" in chat.later(minutes=30).send(f"绑定 {good}")
    assert len(session.exec(select(BindFailure)).all()) == 5
    assert "绑定成功" in chat.later(minutes=31).send(f"绑定 {good}")


def test_rebinding_a_bound_sender_names_the_binding_and_asks_to_unbind_first(session, chat, now):
    student = make_student(session)
    first = _code(session, now, person_id=student.id, school_id=student.school_id)
    chat.dialog([(f"绑定 {first}", bound("学生 张三（学号 S001）、贵州交通职业技术学院"))])
    second = _code(session, now, person_id=student.id, school_id=student.school_id)
    chat.dialog(
        [
            (
                f"绑定 {second}",
                "您已绑定为学生 张三（学号 S001）、贵州交通职业技术学院。"
                "如需换绑，请先发送「解绑」，再用新的绑定码绑定。",
            ),
            ("解绑", "已解绑，此后不再记录您的任何信息。如需重新绑定，请向老师索取新的绑定码。"),
            ("状态", HOW_TO_BIND),
            (f"绑定 {second}", bound("学生 张三（学号 S001）、贵州交通职业技术学院")),
        ]
    )
    rows = session.exec(select(ChannelAccount)).all()
    assert len(rows) == 1 and rows[0].active


def test_teacher_and_parent_bind_the_same_way(session, chat_factory, now):
    student = make_student(session)
    parent_id = session.exec(select(Guardianship.parent_id)).one()
    teacher_code = _code(session, now, "teacher", student.teacher_id, student.school_id)
    parent_code = _code(session, now, "parent", parent_id, student.school_id)
    assert "指导教师 李老师、贵州交通职业技术学院" in chat_factory("t").send(f"绑定 {teacher_code}")
    assert "家长 张父（张三 的家长）" in chat_factory("p").send(f"绑定 {parent_code}")


def test_unbind_when_not_bound_explains(chat):
    assert "还没有绑定" in chat.send("", intent="unbind")
