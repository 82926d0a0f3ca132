"""The one inbound path: every kind of message, exactly once, in group-committed batches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, select, update

from bot.pipeline import Pipeline
from bot.types import Inbound, Location
from core.classify import classify
from core.invites import issue_invite
from models import (
    Alert,
    CaseNote,
    ChannelAccount,
    CheckIn,
    ConversationState,
    InboundSeen,
    InviteCode,
    OutboxMessage,
    SchoolDay,
    Ticket,
)
from models import inbound as inbound_queries
from tests.factories import GUIYANG, bind, bound_student, make_student

FAR = (GUIYANG[0] + 0.0108, GUIYANG[1])  # about 1.2 km north of the workplace
OPENID = "oBatchStudent0001"


def _location(at, point=GUIYANG, user=OPENID) -> Inbound:
    loc = Location(point[0], point[1], "gcj02", source="location", label="林城西路")
    return Inbound(
        channel="wechat", user_id=user, at=at, kind="location", location=loc, intent="checkin"
    )


def _text(at, text: str, user=OPENID) -> Inbound:
    return Inbound(channel="wechat", user_id=user, at=at, text=text)


@pytest.fixture
def student(session):
    return bound_student(session, external_id=OPENID)


@pytest.fixture
def batch(engine, settings):
    """Run messages as ONE batch of the writer: batch((inbound, key), ...) -> [Handled]."""
    pipeline = Pipeline(engine, settings, late_after_s=60)  # the first may load jieba
    writer = pipeline.writers[0]

    def run(*messages, mode="passive"):
        jobs = [pipeline.job(inbound, key, mode=mode) for inbound, key in messages]
        results = writer.run_together(jobs)
        assert all(ok for ok, _ in results), results
        return [handled for _, handled in results]

    run.pipeline = pipeline
    return run


def _rows(session, model=CheckIn):
    session.expire_all()
    return list(session.exec(select(model).order_by(model.id)).all())


def test_a_location_becomes_a_checkin_with_its_receipt_dedupe_row_and_roll_up(
    session, batch, student, now
):
    (handled,) = batch((_location(now), "msg:1"))
    assert handled.status == "done"
    assert handled.answer.startswith("上班签到成功：09:00")
    (row,) = _rows(session)
    assert (row.kind, row.within_fence, row.channel, row.label) == (
        "start", True, "wechat", "林城西路",
    )  # fmt: skip
    assert (row.school_id, row.student_id) == (student.school_id, student.id)
    seen = session.exec(select(InboundSeen)).one()
    assert (seen.dedup_key, seen.reply) == ("msg:1", handled.answer)
    day = session.exec(select(SchoolDay)).one()
    assert (day.checkins, day.students_checked_in) == (1, 1)
    account = session.exec(select(ChannelAccount)).one()
    assert account.last_inbound_at == now


@pytest.mark.parametrize(
    "message",
    [
        lambda at: _location(at),
        lambda at: _text(at, "维权 老板两个月没发工资了"),
        lambda at: _text(at, "状态"),
        lambda at: _text(at, "日报"),
    ],
    ids=["location", "report", "status", "journal"],
)
def test_the_same_msgid_twice_in_one_batch_and_again_later_has_one_effect(
    session, batch, student, now, message
):
    first, again = batch((message(now), "msg:7"), (message(now), "msg:7"))
    assert (first.status, again.status) == ("done", "duplicate")
    assert again.answer == first.answer != ""
    (later,) = batch((message(now + timedelta(seconds=5)), "msg:7"))  # WeChat's retry
    assert (later.status, later.answer) == ("duplicate", first.answer)
    assert len(_rows(session, InboundSeen)) == 1
    assert len(_rows(session)) + len(_rows(session, Ticket)) <= 1


def test_messages_of_one_sender_in_one_batch_see_each_other(session, batch, student, now):
    start, part, submit = batch(
        (_text(now, "日报"), "msg:1"),
        (_text(now, "今天学习了发动机的拆装流程，" * 5), "msg:2"),
        (_text(now, "提交"), "msg:3"),
    )
    assert start.answer.startswith("好的，开始写日报")
    assert part.answer.startswith("已记录，日报目前共")
    assert submit.answer.startswith("日报已提交")
    assert _rows(session, ConversationState) == []


def test_drafts_of_several_senders_in_one_batch_are_stored_together(session, batch, student, now):
    for n in range(1, 3):
        _student(session, n)
    users = ["oStudent0001", "oStudent0002", OPENID]
    batch(*[(_text(now, "日报", user=u), f"msg:s{u}") for u in users])
    parts = batch(*[(_text(now, f"第一段 {u}", user=u), f"msg:p{u}") for u in users[:2]])
    assert all(h.answer.startswith("已记录，日报目前共") for h in parts)
    states = {s.external_id: s for s in _rows(session, ConversationState)}
    assert sorted(states) == sorted(users)
    assert [states[u].data["parts"] for u in users] == [["第一段 oStudent0001"],
                                                        ["第一段 oStudent0002"], []]  # fmt: skip


def test_a_checkin_is_seen_by_a_later_message_of_the_same_batch(session, batch, student, now):
    # Check-ins of a batch are written together (one statement), but before any later message
    # that may read them: the teacher's 今日 right after the student's check-in counts it.
    bind(session, person_kind="teacher", person_id=student.teacher_id, channel="wechat",
         external_id="oBatchTeacher", school_id=student.school_id)  # fmt: skip
    session.commit()
    teacher_asks = _text(now, "今日", "oBatchTeacher")
    checkin, today = batch((_location(now), "msg:1"), (teacher_asks, "msg:2"))
    assert checkin.answer.startswith("上班签到成功")
    assert "应签到 1 人，已签到 1 人" in today.answer
    assert len(_rows(session)) == 1


def test_teachers_today_in_one_batch_each_see_their_own_and_what_came_before(
    session, batch, student, now
):
    # 今日 of several teachers is read once for the batch, but read again after any other
    # message: the second teacher sees the check-in sent between the two.
    other = make_student(session, student_no="S002", name="李四", teacher_name="王老师",
                         teacher_phone="13800000002")  # fmt: skip
    assert other.teacher_id != student.teacher_id
    for person, openid in ((student, "oTeacherA"), (other, "oTeacherB")):
        bind(session, person_kind="teacher", person_id=person.teacher_id, channel="wechat",
             external_id=openid, school_id=person.school_id)  # fmt: skip
    bind(session, person_kind="student", person_id=other.id, channel="wechat",
         external_id="oStudentB", school_id=other.school_id)  # fmt: skip
    session.commit()
    first, checkin, second, again = batch(
        (_text(now, "今日", "oTeacherA"), "msg:1"),
        (_location(now, user="oStudentB"), "msg:2"),
        (_text(now, "今日", "oTeacherB"), "msg:3"),
        (_text(now, "今日", "oTeacherA"), "msg:4"),
    )
    assert checkin.answer.startswith("上班签到成功")
    assert "应签到 1 人，已签到 0 人" in first.answer and "张三" in first.answer
    assert "应签到 1 人，已签到 1 人" in second.answer and "张三" not in second.answer
    assert again.answer == first.answer


def test_start_repeat_and_end_in_one_batch_follow_the_rules(session, batch, student, now):
    start, repeat, end = batch(
        (_location(now), "msg:1"),
        (_location(now + timedelta(minutes=3)), "msg:2"),
        (_location(now + timedelta(hours=9)), "msg:3"),
    )
    assert start.answer.startswith("上班签到成功")
    assert repeat.answer == "您 09:00 已经上班签到，无需重复。"
    assert end.answer.startswith("下班签到成功")
    assert [r.kind for r in _rows(session)] == ["start", "end"]
    day = session.exec(select(SchoolDay)).one()
    assert (day.checkins, day.students_checked_in) == (2, 1)


def test_outside_the_fence_is_recorded_with_one_alert_for_the_teacher(session, batch, student, now):
    batch((_location(now, FAR), "msg:1"), (_location(now + timedelta(hours=1), FAR), "msg:2"))
    assert [r.within_fence for r in _rows(session)] == [False, False]
    (alert,) = _rows(session, Alert)
    assert alert.kind == "outside_fence" and alert.student_id == student.id


def test_an_unbound_sender_is_answered_and_remembered_but_nothing_else(
    session, batch, student, now
):
    (stranger,) = batch((_location(now, user="oSomeoneElse"), "msg:1"))
    assert stranger.status == "done" and "绑定" in stranger.answer
    assert _rows(session) == []
    assert [s.dedup_key for s in _rows(session, InboundSeen)] == ["msg:1"]


def test_a_binding_changed_by_another_process_is_read_afresh(session, batch, student, now):
    batch((_location(now), "msg:1"))
    with Session(session.get_bind()) as s:  # another process unbinds
        s.exec(update(ChannelAccount).values(active=False))
        s.commit()
    (handled,) = batch((_location(now + timedelta(hours=9)), "msg:2"))
    assert "绑定" in handled.answer
    assert len(_rows(session)) == 1


def _student(session, n: int):
    """Another bound student (their own number and openid) on the same placement rules."""
    return bound_student(
        session, external_id=f"oStudent{n:04d}", student_no=f"S{100 + n}", name=f"学生{n}"
    )


def _statements(engine, run) -> list[str]:
    """The SQL statements `run()` sends through `engine` (an executemany counts once)."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_batch_reads_and_marks_its_messages_set_wise(session, engine, batch, now):
    for n in range(6):
        _student(session, n)

    def run(first: int, size: int, at):
        users = [f"oStudent{n:04d}" for n in range(size)]
        return lambda: batch(*[(_text(at, "状态", user=u), f"msg:{first}:{u}") for u in users])

    one = _statements(engine, run(1, 1, now))
    many = _statements(engine, run(2, 6, now + timedelta(hours=1)))
    # The senders, their dialogs and their stored replies are read once per batch, and the
    # dedupe rows and 48-hour windows written once: only the handlers' own reads repeat.
    # 状态's summaries (tickets, journals) are read once for all its student senders too.
    shared = ("inbound_seen", "conversation_states", "UPDATE channel_accounts", "journals")
    for table in shared:
        assert sum(table in sql for sql in one) == sum(table in sql for sql in many), table
    assert sum("inbound_seen" in sql for sql in many) == 2  # read the keys, claim them
    assert len(_rows(session, InboundSeen)) == 7


def test_the_tickets_of_a_batch_carry_the_numbers_their_receipts_and_teachers_name(
    session, batch, student, now
):
    # On PostgreSQL the numbers of a batch's 维权 are taken from the sequence with its reads
    # and the rows written with its other writes; an urgent one (its alert refers to it) and
    # one that only answers ASK still get theirs.
    others = [_student(session, n) for n in range(1, 4)]
    bind(session, person_kind="teacher", person_id=student.teacher_id, channel="wechat",
         external_id="oTeacher", school_id=student.school_id)  # fmt: skip
    session.commit()
    (ask,) = batch((_text(now, "维权", user="oStudent0003"), "msg:ask"))
    assert ask.answer.startswith("请描述遇到的问题")
    handled = batch(
        (_text(now, "维权 老板两个月没发工资了"), "msg:1"),
        (_text(now, "维权 宿舍没有热水，洗不了澡", user="oStudent0001"), "msg:2"),
        (_text(now, "维权 车间主任骚扰我，我很害怕", user="oStudent0002"), "msg:3"),
        (_text(now, "食堂的饭菜每天都是冷的", user="oStudent0003"), "msg:4"),
    )
    tickets = {t.student_id: t for t in _rows(session, Ticket)}
    owners = [student, *others]
    assert sorted(tickets) == sorted(s.id for s in owners)
    # No number is lost: a batch takes as many as it uses.
    assert sorted(t.id for t in tickets.values()) == list(range(1, 5))
    for owner, done in zip(owners, handled, strict=True):
        ticket = tickets[owner.id]
        assert done.answer.startswith(f"已收到您的反馈，工单 T{ticket.id}（"), done.answer
    # WeChat retrying one of them in a later batch takes no number: the next are T5, T6.
    again, fresh = batch(
        (_text(now, "维权 老板两个月没发工资了"), "msg:1"),
        (_text(now, "维权 押金一直不退", user="oStudent0001"), "msg:5"),
    )
    assert (again.status, again.answer) == ("duplicate", handled[0].answer)
    assert fresh.answer.startswith("已收到您的反馈，工单 T5（"), fresh.answer
    (last,) = batch((_text(now, "维权 宿舍漏水", user="oStudent0002"), "msg:6"))
    assert last.answer.startswith("已收到您的反馈，工单 T6（"), last.answer
    pushes = [m.text for m in _rows(session, OutboxMessage) if m.kind == "ticket_new"]
    assert sorted(int(p.split("】")[0].split("T")[1]) for p in pushes) == [1, 2, 3, 4, 5, 6]
    (alert,) = _rows(session, Alert)
    assert alert.ticket_id == tickets[others[1].id].id
    assert tickets[others[2].id].description == "食堂的饭菜每天都是冷的"


def test_a_batch_writes_its_tickets_and_their_notes_in_one_statement_each(
    session, engine, batch, student, now
):
    # PostgreSQL: one INSERT from arrays per table for the whole batch (an executemany runs
    # and plans one per row). The rows are the same either way.
    for n in range(1, 3):
        _student(session, n)
    texts = ["老板两个月没发工资了", "宿舍没有热水，押金也不退", "食堂的饭菜每天都是冷的"]
    users = [OPENID, "oStudent0001", "oStudent0002"]
    messages = [
        (_text(now, f"维权 {text}", user=user), f"msg:{n}")
        for n, (text, user) in enumerate(zip(texts, users, strict=True))
    ]
    sent = _statements(engine, lambda: batch(*messages))
    tickets = sorted(_rows(session, Ticket), key=lambda t: texts.index(t.description))
    assert [t.description for t in tickets] == texts
    for ticket in tickets:
        found = classify(ticket.description)
        assert (ticket.category, ticket.categories) == (found.category, list(found.categories))
        assert (ticket.status, ticket.escalated_at, ticket.created_at) == ("open", None, now)
    notes = _rows(session, CaseNote)
    assert sorted((n.case_id, n.status, n.note) for n in notes) == sorted(
        (t.id, "open", "学生提交") for t in tickets
    )
    pg = engine.dialect.name == "postgresql"
    # (SQLite has no sequence to number tickets ahead: each is inserted as its handler runs.)
    for table in ("tickets", "case_notes") if pg else ("case_notes",):
        inserts = [sql for sql in sent if sql.startswith(f"INSERT INTO {table} ")]
        assert len(inserts) == 1, inserts
        assert ("unnest" in inserts[0]) == pg


def test_a_status_after_a_report_in_the_same_batch_counts_the_new_ticket(
    session, batch, student, now
):
    report, status = batch(
        (_text(now, "维权 老板两个月没发工资了"), "msg:1"), (_text(now, "状态"), "msg:2")
    )
    assert report.answer.startswith("已收到您的反馈")
    assert "未结的反馈：1 件" in status.answer


def test_of_two_senders_racing_for_one_code_in_a_batch_one_binds(session, batch, now):
    # On PostgreSQL the claim and the binding are one statement: the second claim of the
    # batch finds the code used and binds nobody; a teacher's code in the same batch binds.
    student = make_student(session)
    code = issue_invite(session, person_kind="student", person_id=student.id,
                        school_id=student.school_id, now=now, ttl_days=30).code  # fmt: skip
    teacher = issue_invite(session, person_kind="teacher", person_id=student.teacher_id,
                           school_id=student.school_id, now=now, ttl_days=30).code  # fmt: skip
    session.commit()
    first, second, third = batch(
        (_text(now, f"绑定 {code}", user="oNew1"), "msg:1"),
        (_text(now, f"绑定 {code}", user="oNew2"), "msg:2"),
        (_text(now, f"绑定 {teacher}", user="oNew3"), "msg:3"),
    )
    assert first.answer.startswith("绑定成功：学生 张三（学号 S001）")
    assert second.answer.startswith(f"绑定码「{code}」已经使用过了")
    assert third.answer.startswith("绑定成功：")
    accounts = {a.external_id: a for a in _rows(session, ChannelAccount)}
    assert sorted(accounts) == ["oNew1", "oNew3"]
    assert (accounts["oNew1"].person_kind, accounts["oNew1"].person_id) == ("student", student.id)
    assert accounts["oNew3"].person_kind == "teacher"
    codes = {c.code: c.used_by for c in _rows(session, InviteCode)}
    assert codes == {code: accounts["oNew1"].id, teacher: accounts["oNew3"].id}


def _codes(session, now, *students):
    """A fresh invite code for each student."""
    codes = [
        issue_invite(session, person_kind="student", person_id=s.id, school_id=s.school_id,
                     now=now, ttl_days=30).code
        for s in students
    ]  # fmt: skip
    session.commit()
    return codes


@pytest.fixture
def per_message_claims(monkeypatch):
    """The claims the 绑定 handler makes itself (those not made with the batch's reads)."""
    import handlers.bind

    calls = []
    real = handlers.bind.claim_and_bind

    def counted(conn, **kwargs):
        calls.append(kwargs["code"])
        return real(conn, **kwargs)

    monkeypatch.setattr(handlers.bind, "claim_and_bind", counted)
    return calls


def test_a_batch_of_binds_claims_its_codes_with_its_reads_on_postgresql(
    session, engine, batch, now, per_message_claims
):
    students = [make_student(session, student_no=f"S10{i}", name=f"学生{i}") for i in range(3)]
    codes = _codes(session, now, *students)
    messages = [(_text(now, f"绑定 {c}", user=f"oNew{i}"), f"msg:{i}") for i, c in enumerate(codes)]
    handled: list = []
    sent = _statements(engine, lambda: handled.extend(batch(*messages)))
    for i, one in enumerate(handled):
        assert one.answer.startswith(f"绑定成功：学生 学生{i}（学号 S10{i}）"), one.answer
    pg = session.get_bind().dialect.name == "postgresql"
    assert per_message_claims == ([] if pg else codes)
    accounts = {a.external_id: a for a in _rows(session, ChannelAccount)}
    assert {u: a.person_id for u, a in accounts.items()} == {
        f"oNew{i}": s.id for i, s in enumerate(students)
    }
    used = {c.code: (c.used_by, c.used_at is not None) for c in _rows(session, InviteCode)}
    assert used == {code: (accounts[f"oNew{i}"].id, True) for i, code in enumerate(codes)}
    # The codes' users, the audit lines and (PostgreSQL) the menus to push: one statement each
    # for the batch (on PostgreSQL from arrays, where an executemany runs one per row).
    writes = ["UPDATE invite_codes SET used_by", "INSERT INTO audit_log"]
    for start in writes + (["INSERT INTO outbox"] if pg else []):
        found = [sql for sql in sent if sql.startswith(start)]
        assert len(found) == 1, (start, found)
        assert ("unnest" in found[0]) == pg, found[0]


def test_a_code_asked_for_again_in_the_batch_goes_to_whoever_asked_first(session, batch, now):
    # oA's first code is wrong, its second is the code oB asks for after it: handled in
    # order, oA binds with it and oB is told it is used, as if the messages came one by one.
    student = make_student(session)
    (code,) = _codes(session, now, student)
    wrong, taken, late = batch(
        (_text(now, "绑定 ZZZZ2222", user="oA"), "msg:1"),
        (_text(now, f"绑定 {code}", user="oA"), "msg:2"),
        (_text(now, f"绑定 {code}", user="oB"), "msg:3"),
    )
    assert wrong.answer.startswith("绑定码「ZZZZ2222」不正确，请核对后重试（还可尝试 4 次）")
    assert taken.answer.startswith("绑定成功：学生 张三")
    assert late.answer.startswith(f"绑定码「{code}」已经使用过了")
    assert [(a.external_id, a.person_id) for a in _rows(session, ChannelAccount)] == [
        ("oA", student.id)
    ]


def test_a_locked_out_sender_in_a_batch_of_binds_stays_locked_and_the_code_unused(
    session, batch, now
):
    from models.accounts import record_bind_failure

    student, other = make_student(session), make_student(session, student_no="S002")
    code, free = _codes(session, now, student, other)
    for minutes in range(5):
        record_bind_failure(session, channel="wechat", external_id="oLocked",
                            at=now - timedelta(minutes=10 + minutes))  # fmt: skip
    record_bind_failure(
        session, channel="wechat", external_id="oOnce", at=now - timedelta(minutes=5)
    )
    session.commit()
    locked, once = batch(
        (_text(now, f"绑定 {code}", user="oLocked"), "msg:1"),
        (_text(now, f"绑定 {free}", user="oOnce"), "msg:2"),
    )
    assert locked.answer.startswith("错误的绑定码次数过多"), locked.answer
    assert once.answer.startswith("绑定成功：学生"), once.answer
    assert [a.external_id for a in _rows(session, ChannelAccount)] == ["oOnce"]
    assert {c.code: c.used_at is not None for c in _rows(session, InviteCode)} == {
        code: False,
        free: True,
    }


def test_a_repeated_or_replayed_bind_in_a_batch_binds_once_and_answers_alike(
    session, engine, settings, now
):
    student = make_student(session)
    (code,) = _codes(session, now, student)
    pipeline = Pipeline(engine, settings, late_after_s=60)
    bind_text = _text(now, f"绑定 {code}", user="oNew")
    pair = {"timestamp": "1764900000", "nonce": "n1", "digest": "d1"}
    jobs = [
        pipeline.job(bind_text, "msg:1", mode="passive", replay_key=pair),
        pipeline.job(bind_text, "msg:1", mode="passive", replay_key=pair),  # WeChat's retry
        pipeline.job(_text(now, f"绑定 {code}", user="oOther"), "msg:2", mode="passive",
                     replay_key=dict(pair, digest="forged")),  # the same pair, another body
    ]  # fmt: skip
    (ok1, first), (ok2, again), (ok3, replayed) = pipeline.writers[0].run_together(jobs)
    assert ok1 and ok2 and ok3
    assert first.answer.startswith("绑定成功：") and again == first.__class__(
        "duplicate", answer=first.answer
    )
    assert replayed.status == "refused"
    assert [a.external_id for a in _rows(session, ChannelAccount)] == ["oNew"]


def test_a_code_claimed_ahead_that_no_handler_takes_fails_the_batch_then_runs_one_by_one(
    session, batch, now, monkeypatch
):
    # Were the pipeline's guess at which messages bind ever wrong, a code would be claimed
    # for a message that binds nobody: the batch fails before its commit and each message
    # then runs alone, where nothing is claimed ahead.
    import bot.pipeline

    student, other = make_student(session), make_student(session, student_no="S002")
    code, good = _codes(session, now, student, other)
    real = bot.pipeline.bind_request
    monkeypatch.setattr(
        bot.pipeline,
        "bind_request",
        lambda inbound: code if "你好" in inbound.text else real(inbound),
    )
    hello, bound = batch(
        (_text(now, f"你好 {code}", user="oHello"), "msg:1"),
        (_text(now, f"绑定 {good}", user="oNew"), "msg:2"),
    )
    assert hello.answer.startswith("您好，这里是实习助手。您还没有绑定身份")
    assert bound.answer.startswith("绑定成功：学生 张三")
    assert [a.external_id for a in _rows(session, ChannelAccount)] == ["oNew"]
    assert {c.code: c.used_at is not None for c in _rows(session, InviteCode)} == {
        code: False,
        good: True,
    }


def test_a_key_stored_by_another_process_after_the_read_is_answered_as_a_duplicate(
    session, batch, student, now, monkeypatch
):
    (first,) = batch((_text(now, "维权 老板两个月没发工资了"), "msg:1"))
    _student(session, 1)
    calls = []
    real = inbound_queries.stored_replies_read

    def raced(conn, **kwargs):  # the first read misses msg:1, as if stored meanwhile
        calls.append(kwargs["keys"])
        read = real(conn, **kwargs)
        if len(calls) == 1:
            read.shape = lambda rows: {}
        return read

    monkeypatch.setattr("bot.pipeline.stored_replies_read", raced)
    later = now + timedelta(hours=1)
    again, fresh = batch(
        (_text(later, "维权 老板两个月没发工资了"), "msg:1"),
        (_text(later, "维权 宿舍没有热水", user="oStudent0001"), "msg:2"),
    )
    # The batch's insert met the stored key and failed; each job was then run on its own.
    assert len(calls) == 3
    assert (again.status, again.answer) == ("duplicate", first.answer)
    assert fresh.status == "done" and fresh.answer.startswith("已收到您的反馈")
    assert len(_rows(session, Ticket)) == 2
    assert len(_rows(session, InboundSeen)) == 2


def test_a_handler_that_fails_takes_nothing_else_down_and_leaves_nothing(
    session, batch, student, now, monkeypatch
):
    other = _student(session, 1)

    def broken(ctx):
        raise RuntimeError("boom")

    from handlers.base import HANDLERS, Route

    monkeypatch.setitem(HANDLERS, "status", Route(broken))
    pipeline = batch.pipeline
    results = pipeline.writers[0].run_together(
        [
            pipeline.job(_text(now, "状态"), "msg:1", mode="passive"),
            pipeline.job(_location(now, user="oStudent0001"), "msg:2", mode="passive"),
        ]
    )
    (ok_bad, bad), (ok_good, good) = results
    assert not ok_bad and isinstance(bad, RuntimeError)
    assert ok_good and good.answer.startswith("上班签到成功")
    assert [r.student_id for r in _rows(session)] == [other.id]
    assert [s.dedup_key for s in _rows(session, InboundSeen)] == ["msg:2"]


def test_a_reply_too_long_for_a_passive_answer_continues_through_the_outbox(
    session, batch, student, now, monkeypatch
):
    from bot.types import Reply
    from handlers.base import HANDLERS, Route

    long = "\n\n".join(f"第{i}段：" + "很长的说明文字" * 20 for i in range(20))
    monkeypatch.setitem(HANDLERS, "status", Route(lambda ctx: [Reply(long)]))
    (handled,) = batch((_text(now, "状态"), "msg:1"))
    assert 0 < len(handled.answer.encode()) <= 2000 and long.startswith(handled.answer)
    (row,) = _rows(session, OutboxMessage)
    assert (row.kind, row.to_external_id, row.quiet_hours) == ("reply", OPENID, False)
    assert handled.answer + "\n\n" + row.text == long


def test_a_message_handled_after_the_deadline_answers_success_and_pushes_its_reply(
    engine, settings, session, student, now
):
    late = Pipeline(engine, settings, late_after_s=-1.0)  # every message is already late
    handled = late.run(_text(now, "维权 老板两个月没发工资了"), "msg:1", mode="passive")
    assert handled.status == "done" and handled.answer == ""
    (ticket,) = _rows(session, Ticket)
    reply = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "reply")).one()
    assert reply.text.startswith("已收到您的反馈") and reply.to_external_id == OPENID
    assert _rows(session, InboundSeen)[0].reply == ""  # WeChat's retry gets "success"
    assert ticket.student_id == student.id


def test_push_mode_queues_every_reply_held_back_for_the_adapter(
    engine, settings, session, student, now
):
    pipeline = Pipeline(engine, settings)
    handled = pipeline.run(_text(now, "状态"), "update:1", mode="push")
    assert handled.status == "done" and len(handled.pushed) == 1
    row = session.get(OutboxMessage, handled.pushed[0])
    assert row.status == "pending" and row.next_attempt_at > now
    assert row.text == handled.replies[0].text
    again = pipeline.run(_text(now, "状态"), "update:1", mode="push")
    assert again.status == "duplicate" and again.pushed == ()
    assert len(_rows(session, OutboxMessage)) == 1


def test_wrong_codes_in_one_batch_lock_the_sender_out_as_one_by_one(session, batch, now):
    """The lockout's failures are read once for a batch's binds, and again after each wrong
    code: five in one batch lock the sender out, and a sixth message is told so."""
    wrong = [
        (_text(now + timedelta(minutes=i), f"绑定 WRONG00{i + 2}", user="oNew"), f"msg:w{i}")
        for i in range(5)
    ]
    other = (_text(now, "绑定 WRONG002", user="oOther"), "msg:o")
    handled = batch(*wrong, other, (_text(now + timedelta(minutes=6), "绑定 ABCDEFGH",
                                          user="oNew"), "msg:last"))  # fmt: skip
    assert ["不正确" in h.answer for h in handled[:4]] == [True] * 4
    assert "请于 10:04 之后再试" in handled[4].answer
    assert "不正确" in handled[5].answer  # another sender: not locked
    assert "请于 10:04 之后再试" in handled[6].answer
