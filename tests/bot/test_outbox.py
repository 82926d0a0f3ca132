"""The outbox sender: exactly-once marking, retries with backoff, quiet hours, expiry, owners."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from factories import bind, make_student
from sqlmodel import Session, select

from bot.outbox import TokenBucket, deliver_due, in_quiet_hours
from bot.outbox_owner import owner_is_dead, owning
from bot.outbox_rows import claim
from bot.senders import ConsoleSender, SendError, build_senders
from models import OutboxMessage
from models.queue import enqueue

TZ = ZoneInfo("Asia/Shanghai")

WX = "https://api.weixin.qq.com"


@pytest.fixture
def student(engine, now):
    """A student bound on the console and on WeChat (wrote to us an hour ago)."""
    with Session(engine) as session:
        s = make_student(session)
        bind(session, person_kind="student", person_id=s.id, channel="console", external_id="S001")
        wx = bind(session, person_kind="student", person_id=s.id, channel="wechat",
                  external_id="oOPENID")  # fmt: skip
        wx.last_inbound_at = now - timedelta(hours=1)
        session.add(wx)
        session.commit()
        return s.id


def push(engine, person_id, key="n1", *, now=None, **kw) -> None:
    now = now or datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
    with Session(engine) as session:
        enqueue(session, person_kind="student", person_id=person_id, key=key, now=now,
                not_before=now, text=kw.pop("text", "请记得签到"), **kw)  # fmt: skip
        session.commit()


def rows(engine, channel=None) -> list[OutboxMessage]:
    with Session(engine) as session:
        q = select(OutboxMessage).order_by(OutboxMessage.id)
        if channel:
            q = q.where(OutboxMessage.channel == channel)
        return list(session.exec(q).all())


class FlakySender:
    """Fails `failures` times, then delivers."""

    def __init__(self, failures: int = 0, error: Exception | None = None):
        self.failures, self.error, self.sent, self.tries = failures, error, [], 0

    async def send(self, msg, *, now):
        self.tries += 1
        if self.tries <= self.failures:
            raise self.error or SendError("upstream busy")
        self.sent.append(msg)
        return f"up-{msg.id}"


async def test_a_due_message_is_sent_once_and_marked_sent(engine, settings, student, now):
    push(engine, student)
    console = ConsoleSender()
    senders = {"console": console, "wechat": FlakySender()}
    assert await deliver_due(engine, settings, now=now, senders=senders) == 2
    assert await deliver_due(engine, settings, now=now, senders=senders) == 0
    assert [m.text for m in console.sent] == ["请记得签到"]
    for row in rows(engine):
        assert (row.status, row.attempts, row.sent_at) == ("sent", 1, now)
    assert rows(engine, "wechat")[0].upstream_id.startswith("up-")


async def test_wechat_errors_three_times_then_success_deliver_exactly_once(
    engine, settings, student, now
):
    with respx.mock(assert_all_mocked=True) as mock:
        mock.post(f"{WX}/cgi-bin/stable_token").respond(
            json={"access_token": "ACCESS", "expires_in": 7200}
        )
        send = mock.post(f"{WX}/cgi-bin/message/custom/send").mock(
            side_effect=[
                httpx.Response(500),
                httpx.Response(200, json={"errcode": -1, "errmsg": "system error"}),
                httpx.ConnectError("connection reset"),
                httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}),
            ]
        )
        push(engine, student)
        async with httpx.AsyncClient() as http:
            senders = build_senders(settings, http, engine=engine)
            total, t = 0, now
            for _ in range(12):  # a minute apart: every backoff (5, 10, 20 s) has passed
                total += await deliver_due(engine, settings, now=t, senders=senders)
                t += timedelta(minutes=1)
    assert send.call_count == 4
    (row,) = rows(engine, "wechat")
    assert (row.status, row.attempts, row.last_error) == ("sent", 4, "")
    assert total == 2  # the wechat row and the console row, each once
    assert send.calls[-1].request.url.params["access_token"] == "ACCESS"


async def test_failures_back_off_exponentially(engine, settings, student, now):
    push(engine, student)
    senders = {"console": ConsoleSender(), "wechat": FlakySender(failures=9)}
    expected = now
    for attempt in range(1, 4):
        await deliver_due(engine, settings, now=expected, senders=senders)
        (row,) = rows(engine, "wechat")
        delay = settings.outbox.backoff_base_s * 2 ** (attempt - 1)
        assert row.status == "pending" and row.attempts == attempt
        assert row.next_attempt_at == expected + timedelta(seconds=delay)
        assert row.last_error == "upstream busy"
        expected = row.next_attempt_at


async def test_a_message_is_given_up_after_max_attempts(engine, settings, student, now):
    settings.outbox.max_attempts = 3
    push(engine, student)
    senders = {"console": ConsoleSender(), "wechat": FlakySender(failures=99)}
    t = now
    for _ in range(6):
        await deliver_due(engine, settings, now=t, senders=senders)
        t += timedelta(hours=1)
    (row,) = rows(engine, "wechat")
    assert (row.status, row.attempts) == ("failed", 3)


async def test_a_permanent_error_fails_at_once(engine, settings, student, now):
    push(engine, student)
    error = SendError("user blocked the bot", permanent=True)
    senders = {"console": ConsoleSender(), "wechat": FlakySender(failures=1, error=error)}
    await deliver_due(engine, settings, now=now, senders=senders)
    (row,) = rows(engine, "wechat")
    assert (row.status, row.last_error) == ("failed", "user blocked the bot")


async def test_quiet_hours_hold_messages_for_students_until_seven(engine, settings, student):
    late = datetime(2026, 3, 2, 23, 0, tzinfo=settings.tz)
    push(engine, student, key="quiet", quiet_hours=True)
    push(engine, student, key="urgent", text="安全警报", quiet_hours=False)
    console = ConsoleSender()
    senders = {"console": console, "wechat": FlakySender()}
    await deliver_due(engine, settings, now=late, senders=senders)
    assert [m.text for m in console.sent] == ["安全警报"]
    held = next(r for r in rows(engine, "console") if r.quiet_hours)
    seven = datetime(2026, 3, 3, 7, 0, tzinfo=settings.tz)
    assert (held.status, held.attempts, held.next_attempt_at) == ("pending", 0, seven)
    await deliver_due(engine, settings, now=seven - timedelta(minutes=1), senders=senders)
    assert len(console.sent) == 1
    await deliver_due(engine, settings, now=seven, senders=senders)
    assert [m.text for m in console.sent] == ["安全警报", "请记得签到"]


def test_quiet_hours_span_midnight(settings):
    tz = settings.tz
    assert in_quiet_hours(settings, datetime(2026, 3, 2, 21, 59, tzinfo=tz)) is None
    assert in_quiet_hours(settings, datetime(2026, 3, 3, 6, 30, tzinfo=tz)) == datetime(
        2026, 3, 3, 7, 0, tzinfo=tz
    )
    assert in_quiet_hours(settings, datetime(2026, 3, 3, 7, 0, tzinfo=tz)) is None


async def test_expired_messages_are_never_sent(engine, settings, student, now):
    push(engine, student, expires_at=now + timedelta(hours=1), quiet_hours=True)
    console = ConsoleSender()
    senders = {"console": console, "wechat": FlakySender()}
    await deliver_due(engine, settings, now=now + timedelta(hours=2), senders=senders)
    assert console.sent == []
    assert {r.status for r in rows(engine)} == {"expired"}


async def test_a_message_no_longer_relevant_is_dropped(engine, settings, student, now, monkeypatch):
    from core import notices

    monkeypatch.setattr(notices, "still_relevant", lambda session, row, now: False)
    push(engine, student)
    console = ConsoleSender()
    await deliver_due(engine, settings, now=now, senders={"console": console})
    assert console.sent == []
    assert {r.status for r in rows(engine)} == {"expired"}


def claim_as(owner, now, limit=10) -> list:
    with owner.conn.begin():
        return claim(owner.conn, owner.id, now=now, limit=limit, quiet=False)


async def test_rows_a_live_sender_holds_are_left_alone_and_taken_over_once_it_is_gone(
    engine, settings, student, now
):
    push(engine, student)
    console = ConsoleSender()
    senders = {"console": console, "wechat": FlakySender()}
    with owning(engine) as other:  # another sender, alive, has claimed both rows
        assert len(claim_as(other, now)) == 2
        assert await deliver_due(engine, settings, now=now, senders=senders) == 0
        assert {r.status for r in rows(engine)} == {"sending"}
    # ... and it is gone without recording anything: the same clock delivers them now.
    assert await deliver_due(engine, settings, now=now, senders=senders) == 2
    assert len(console.sent) == 1 and {r.status for r in rows(engine)} == {"sent"}
    assert {(r.attempts, r.claimed_by) for r in rows(engine)} == {(2, None)}


async def test_a_live_sender_is_alive_to_others_and_a_released_one_is_dead(engine):
    with owning(engine) as a, owning(engine) as b:
        with a.conn.begin():
            assert not owner_is_dead(a, b.id) and not owner_is_dead(a, a.id)
        gone = b.id
    with owning(engine) as c, c.conn.begin():
        assert owner_is_dead(c, gone) and owner_is_dead(c, None)


async def test_rows_left_sending_before_owners_were_recorded_are_taken_over(
    engine, settings, student, now
):
    push(engine, student)
    with Session(engine) as session:
        for row in session.exec(select(OutboxMessage)).all():
            row.status, row.attempts = "sending", 1
            session.add(row)
        session.commit()
    senders = {"console": ConsoleSender(), "wechat": FlakySender()}
    assert await deliver_due(engine, settings, now=now, senders=senders) == 2


async def test_concurrent_senders_send_every_row_exactly_once(engine, settings, student, now):
    for i in range(30):
        push(engine, student, key=f"bulk{i}")
    a, b = FlakySender(), FlakySender()
    senders_a, senders_b = {"console": a, "wechat": a}, {"console": b, "wechat": b}
    counts = await asyncio.gather(
        deliver_due(engine, settings, now=now, senders=senders_a),
        deliver_due(engine, settings, now=now, senders=senders_b),
    )
    ids = [m.id for m in a.sent + b.sent]
    assert sum(counts) == 60 and len(ids) == len(set(ids)) == 60
    assert {r.status for r in rows(engine)} == {"sent"}


async def test_a_channel_without_a_sender_is_retried_later(engine, settings, student, now):
    push(engine, student)
    await deliver_due(engine, settings, now=now, senders={"console": ConsoleSender()})
    (row,) = rows(engine, "wechat")
    assert row.status == "pending" and "not configured" in row.last_error


async def test_the_token_bucket_spaces_sends_to_the_rate():
    clock = [0.0]
    waits: list[float] = []

    async def sleep(seconds):
        waits.append(seconds)
        clock[0] += seconds

    bucket = TokenBucket(2.0, clock=lambda: clock[0], sleep=sleep)
    for _ in range(6):
        await bucket.acquire()
    assert clock[0] == pytest.approx(2.0)  # 2 at once, then one every 0.5 s
    assert len(waits) == 4


async def test_a_zero_rate_means_no_limit():
    waits: list[float] = []

    async def sleep(seconds):
        waits.append(seconds)

    bucket = TokenBucket(0, clock=lambda: 0.0, sleep=sleep)
    for _ in range(1000):  # at one instant: any limit at all would have to wait
        await bucket.acquire()
    assert waits == []
    assert bucket.available() == math.inf and bucket.wait_s() == 0


async def test_each_message_carries_when_its_own_addressee_last_wrote(
    engine, settings, student, now
):
    """WeChat's 48-hour window is decided per addressee, so the time must be theirs."""
    with Session(engine) as session:
        other = make_student(session, student_no="S002", name="李四")
        old = bind(session, person_kind="student", person_id=other.id, channel="wechat",
                   external_id="oOTHER")  # fmt: skip
        old.last_inbound_at = now - timedelta(days=3)
        session.add(old)
        bind(session, person_kind="student", person_id=other.id, channel="telegram",
             external_id="77")  # fmt: skip
        session.commit()
        other_id = other.id
    push(engine, student, key="a")
    push(engine, other_id, key="b")
    recorder = FlakySender()
    senders = {"console": ConsoleSender(), "wechat": recorder, "telegram": recorder}
    assert await deliver_due(engine, settings, now=now, senders=senders) == 4
    seen = {m.to: m.last_inbound_at for m in recorder.sent}
    assert seen == {
        "oOPENID": now - timedelta(hours=1),
        "oOTHER": now - timedelta(days=3),
        "77": None,
    }
