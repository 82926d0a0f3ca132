"""SPEC section 2 as one dialog table, played by the terminal, WeChat and Telegram tests alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from core.invites import issue_invite
from models import ChannelAccount, CheckIn, Journal, MakeupRequest, OutboxMessage, Ticket
from tests.factories import make_student

# Stands for "send my location at the workplace"; each channel sends it in its own datum.
LOCATION = object()

# 38 and 39 Chinese characters; 17 English words.
LINE = "今天在车间跟着师傅学习更换刹车片，先拆下轮胎再检查磨损情况，最后按规定力矩装回去。"
LINE2 = "下午跟着师傅做了一次发动机保养，更换机油和机油滤清器，还学会了使用举升机和扭力扳手。"
LINE_EN = (
    "Today I helped my mentor replace the brake pads on a customer car and checked the tyres. "
)
Expected = str | tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """One message of the conversation, as a Chinese user and as a Telegram English user."""

    row: str  # the SPEC section 2 intent this step exercises
    who: str  # student | teacher
    zh: object  # text ({student_code} / {teacher_code} filled in) or LOCATION
    zh_expect: Expected
    en: object
    en_expect: Expected


GRAMMAR: tuple[Step, ...] = (
    Step("help", "student", "你好", "8 位绑定码", "hello", "8-character code"),
    Step(
        "bind",
        "student",
        "绑定 {student_code}",
        ("绑定成功：学生 张三（学号 S001）", "仅本人、指导教师和学校管理员可见", "「解绑」"),
        "/start {student_code}",
        ("Linked: student 张三 (student no. S001)", "your school admin", "/unbind to stop"),
    ),
    Step(
        "check in",
        "student",
        LOCATION,
        "上班签到成功：09:00，距实习地点不到 10 米",
        LOCATION,
        "Checked in (start) at 09:00, under 10 m from your workplace",
    ),
    Step(
        "journal",
        "student",
        "周记",
        "开始写周记（至少 200 字）",
        "/journal weekly",
        "starting your weekly journal (at least 200 words)",
    ),
    Step("journal", "student", LINE * 3, "还差 86 字", LINE_EN * 6, "98 more needed"),
    Step("journal", "student", LINE2 * 3, "已达到字数要求", LINE_EN * 6, "long enough"),
    Step(
        "journal",
        "student",
        "提交",
        ("周记已提交（第 6 周，共 231 字）", "编号 J1"),
        "/submit",
        "Your weekly journal is submitted (week 6, 204 words), no. J1",
    ),
    Step(
        "journal",
        "student",
        "日报 " + LINE + LINE2,
        ("日报已提交（3月2日", "编号 J2"),
        "/journal daily " + LINE_EN * 3,
        ("Your daily journal is submitted", "no. J2"),
    ),
    Step("report", "student", "维权", "请描述遇到的问题", "/report", "Please describe the problem"),
    Step(
        "report",
        "student",
        "老板说好的每月3000，到现在两个月了一分钱都没发",
        "工单 T1（工资报酬）",
        "My boss has not paid my wages for two months",
        "ticket T1 (wages)",
    ),
    Step(
        "report",
        "student",
        "反馈 宿舍没有热水，冬天只能洗冷水澡",
        "工单 T2（食宿）",
        "/report The dormitory has no hot water at all this winter",
        "ticket T2 (housing and meals)",
    ),
    Step(
        "status",
        "student",
        "状态",
        ("今天：上班 09:00", "本周出勤：1/1 天", "未结的反馈：2 件"),
        "/status",
        ("Today: start 09:00", "This week: present 1 of 1 workdays", "Open reports: 2"),
    ),
    Step("status", "student", "我的", "本周出勤：1/1 天", "my status", "present 1 of 1"),
    Step(
        "make-up",
        "student",
        "补卡 2月27日 手机没电忘记签到",
        "补卡申请已提交（编号 1）：2月27日（周五），理由：手机没电忘记签到",
        "/makeup 2026-02-27 my phone was dead",
        "Make-up request no. 1 sent: Fri 27 Feb, reason: my phone was dead",
    ),
    Step(
        "help",
        "student",
        "帮助",
        "补卡：发送「补卡 日期 理由」",
        "/help",
        "Make-up check-in: /makeup",
    ),
    Step(
        "help",
        "student",
        "呜啦啦啦",
        ("抱歉，没看懂这句话", "实习助手可以帮您"),
        "blah blah",
        ("Sorry, I did not understand that", "Here is what I can do"),
    ),
    Step("cancel", "student", "月报", "开始写月报", "/journal monthly", "starting your monthly"),
    Step("cancel", "student", "取消", "已取消", "/cancel", "Cancelled"),
    Step("cancel", "student", "取消", "当前没有进行中的操作", "/cancel", "nothing to cancel"),
    Step(
        "leave",
        "student",
        "请假 3月5日至3月6日 去医院复查",
        "请假申请已提交：L1，3月5日（周四）至3月6日（周五），事由：去医院复查。",
        "/leave 2026-03-05 to 2026-03-06 hospital check-up",
        "Leave request L1 sent: Thu 5 Mar to Fri 6 Mar, reason: hospital check-up.",
    ),
    Step(
        "leave",
        "student",
        "请假 3月6日 看病",
        "这段时间已有请假申请 L1（待审批，3月5日（周四）至3月6日（周五）），请勿重复申请。",
        "/leave 2026-03-06 doctor",
        "Request L1 (pending, ",
    ),
    Step(
        "leave",
        "student",
        "请假 2月20日 生病",
        ("2月20日", "不能再补请假"),
        "/leave 2026-02-20 ill",
        "is more than",
    ),
    Step(
        "leave",
        "student",
        "请假 3月13日至3月16日 家里有事",
        "请假申请已提交：L2，3月13日（周五）至3月16日（周一），事由：家里有事。",
        "/leave 2026-03-13 to 2026-03-16 family matter",
        "Leave request L2 sent: Fri 13 Mar to Mon 16 Mar, reason: family matter.",
    ),
    Step(
        "bind",
        "teacher",
        "绑定 {teacher_code}",
        "绑定成功：指导教师 李老师",
        "/bind {teacher_code}",
        "Linked: teacher 李老师",
    ),
    Step(
        "teacher: today",
        "teacher",
        "今日",
        ("今日 3月2日（周一）：应签到 1 人，已签到 1 人", "全部按时在范围内签到"),
        "/today",
        ("Today, Mon 2 Mar: 1 of 1 students checked in", "Everyone checked in on time"),
    ),
    Step(
        "teacher: grade",
        "teacher",
        "批阅 J1 90 写得很具体，继续保持",
        "已批阅 J1（张三的周记）：90 分。已通知学生",
        "/grade J1 90 great detail",
        "Graded J1 (张三, weekly journal): 90. The student has been told.",
    ),
    Step(
        "teacher: handle",
        "teacher",
        "处理 T1 已联系企业人事",
        "工单 T1 已更新为「处理中」。已通知学生",
        "/handle T1 called the company",
        "ticket T1 is now being handled. The student has been told the new status",
    ),
    Step(
        "make-up",
        "teacher",
        "批准补卡 1",
        "已批准 张三 2月27日（周五） 的补卡",
        "/makeup approve 1",
        "Approved: 张三, Fri 27 Feb counts as present",
    ),
    Step(
        "teacher: leave",
        "teacher",
        "请假",
        ("待审批的请假：", "L1 张三 3月5日（周四）至3月6日（周五）：去医院复查"),
        "/leave",
        ("Leave requests waiting for you:", "L1 张三 Thu 5 Mar to Fri 6 Mar: hospital check-up"),
    ),
    Step(
        "teacher: leave",
        "teacher",
        "批准 L1",
        "已批准 张三 的请假 L1（3月5日（周四）至3月6日（周五）），已通知学生。",
        "/approve L1",
        "Approved L1 for 张三 (Thu 5 Mar to Fri 6 Mar).",
    ),
    Step(
        "teacher: leave",
        "teacher",
        "驳回 L2 当天有安全培训",
        "已驳回 张三 的请假 L2，已通知学生。",
        "/reject L2 safety training that day",
        "Rejected L2; 张三 has been told.",
    ),
    Step("help", "teacher", "帮助", "「批阅 日志编号 分数 评语」", "/help", "/grade <journal no>"),
    Step("unbind", "teacher", "解绑", "已解绑", "/unbind", "Unlinked"),
    Step("unbind", "student", "解绑", "已解绑", "/unbind", "Unlinked"),
    Step("unbind", "student", "状态", "8 位绑定码", "/status", "8-character code"),
)
# Every row of SPEC section 2 is played at least once.
SPEC_ROWS = {
    "bind",
    "check in",
    "journal",
    "report",
    "status",
    "make-up",
    "help",
    "teacher: today",
    "teacher: grade",
    "teacher: handle",
    "leave",
    "teacher: leave",
    "cancel",
    "unbind",
}

# (who, message) -> the reply text; `message` is LOCATION or the text to send.
Send = Callable[[str, object], str]


def school_with_codes(session: Session, now: datetime) -> dict[str, str]:
    """A student on placement (a 200 m fence, less than the datum offset) and two invite codes."""
    student = make_student(session, radius_m=200)
    codes = {}
    for who, person_id in (("student", student.id), ("teacher", student.teacher_id)):
        invite = issue_invite(
            session,
            person_kind=who,
            person_id=person_id,
            school_id=student.school_id,
            now=now,
            ttl_days=30,
        )
        codes[f"{who}_code"] = invite.code
    session.commit()
    return codes


def play(send: Send, *, lang: str, codes: dict[str, str], steps=GRAMMAR) -> None:
    """Send each step in the user's language and check every expected part of the reply."""
    for i, step in enumerate(steps, 1):
        message = step.en if lang == "en" else step.zh
        expected = step.en_expect if lang == "en" else step.zh_expect
        if isinstance(message, str):
            message = message.format(**codes)
        reply = send(step.who, message)
        for part in (expected,) if isinstance(expected, str) else expected:
            shown = "<location>" if message is LOCATION else repr(message[:40])
            assert part in reply, (
                f"step {i} ({step.row}, {step.who}): sent {shown}, expected {part!r} in:\n{reply}"
            )


def assert_recorded(session: Session, *, datum: str) -> None:
    """What the conversation left in the database, the same whatever the channel."""
    session.expire_all()
    (checkin,) = session.exec(select(CheckIn).where(CheckIn.source == "location")).all()
    assert (checkin.kind, checkin.within_fence, checkin.datum) == ("start", True, datum)
    assert checkin.distance_m < 10
    weekly, daily = session.exec(select(Journal).order_by(Journal.id)).all()
    assert (weekly.kind, weekly.status, weekly.score) == ("weekly", "graded", 90)
    assert (daily.kind, daily.status) == ("daily", "submitted")
    graded = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.kind == "journal_graded", OutboxMessage.person_kind == "student"
        )
    ).one()
    assert graded.person_id == weekly.student_id and "90" in graded.text
    tickets = session.exec(select(Ticket).order_by(Ticket.id)).all()
    assert [(t.category, t.status) for t in tickets] == [("wages", "handling"), ("housing", "open")]
    assert session.exec(select(MakeupRequest)).one().status == "approved"
    assert not session.exec(select(ChannelAccount).where(ChannelAccount.active)).all()
