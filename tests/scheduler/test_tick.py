"""`shixi tick --at`: sweeps then delivery on one clock; retried with backoff, sent once."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest
import respx
from factories import bind
from sched_helpers import add_student, rows
from typer.testing import CliRunner

from api.cli import app

SEND = "https://api.telegram.org/bot123456:TEST-TOKEN/sendMessage"
OK = {
    "ok": True,
    "result": {"message_id": 7, "date": 1772414000, "chat": {"id": 42, "type": "private"}},
}
UPSTREAM_ERROR = {"ok": False, "error_code": 502, "description": "Bad Gateway"}


@pytest.fixture
def shixi(monkeypatch, settings):
    """Run `shixi ...` against the test database with Telegram on and WeChat off."""
    monkeypatch.setenv("SHIXI_DATABASE__URL", settings.database.url)
    monkeypatch.setenv("SHIXI_TELEGRAM__TOKEN", settings.telegram.token)
    monkeypatch.setenv("SHIXI_WECHAT__TOKEN", "")
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run


@pytest.fixture
def telegram_student(session) -> int:
    sid = add_student(session, "S001")
    bind(session, person_kind="student", person_id=sid, channel="telegram", external_id="42")
    session.commit()
    return sid


def test_tick_queues_and_delivers_the_nudge_once_however_often_it_runs(
    engine, telegram_student, shixi
):
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(SEND).mock(return_value=httpx.Response(200, json=OK))
        out = shixi("tick", "--at", "2026-03-02T09:30")
        shixi("tick", "--at", "2026-03-02T09:30")
        shixi("tick", "--at", "2026-03-02T09:45")
    assert route.call_count == 1
    sent = parse_qs(route.calls[0].request.content.decode())
    assert sent["chat_id"] == ["42"] and "签到" in sent["text"][0]
    assert "已发送到期消息 2 条" in out  # the terminal account and Telegram
    [nudge] = rows(engine, "nudge", channel="telegram")
    assert nudge.status == "sent"


def test_upstream_errors_and_timeouts_are_retried_with_backoff_and_sent_once(
    engine, telegram_student, shixi
):
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(SEND).mock(
            side_effect=[
                httpx.Response(502, json=UPSTREAM_ERROR),
                httpx.ReadTimeout("upstream too slow"),
                httpx.Response(200, json=OK),
            ]
        )
        shixi("tick", "--at", "2026-03-02T09:30:00")
        [nudge] = rows(engine, "nudge", channel="telegram")
        assert (nudge.status, nudge.attempts) == ("pending", 1)
        shixi("tick", "--at", "2026-03-02T09:30:01")  # before the backoff: nothing is sent
        assert route.call_count == 1
        shixi("tick", "--at", "2026-03-02T09:31")
        shixi("tick", "--at", "2026-03-02T09:35")
        shixi("tick", "--at", "2026-03-02T09:40")
    assert route.call_count == 3
    [nudge] = rows(engine, "nudge", channel="telegram")
    assert (nudge.status, nudge.attempts) == ("sent", 3)


def test_a_nudge_held_by_quiet_hours_is_dropped_when_its_day_is_over(engine, session, shixi):
    from datetime import time

    sid = add_student(session, "S001", shift_start=time(21, 50), shift_end=time(6, 0))
    bind(session, person_kind="student", person_id=sid, channel="telegram", external_id="42")
    session.commit()
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(SEND).mock(return_value=httpx.Response(200, json=OK))
        shixi("tick", "--at", "2026-03-02T22:20")
        shixi("tick", "--at", "2026-03-03T07:00")
    assert route.call_count == 0
    assert [r.status for r in rows(engine, "nudge", channel="telegram")] == ["expired"]


def test_a_morning_nudge_waits_for_the_end_of_quiet_hours(engine, session, shixi):
    from datetime import time

    sid = add_student(session, "S001", shift_start=time(6, 0), shift_end=time(14, 0))
    bind(session, person_kind="student", person_id=sid, channel="telegram", external_id="42")
    session.commit()
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(SEND).mock(return_value=httpx.Response(200, json=OK))
        shixi("tick", "--at", "2026-03-02T06:30")
        assert route.call_count == 0
        shixi("tick", "--at", "2026-03-02T07:00")
    assert route.call_count == 1


def test_tick_with_an_unreadable_time_says_what_to_type(shixi):
    result = CliRunner().invoke(app, ["tick", "--at", "next tuesday"])
    assert result.exit_code == 2
    assert "2026-03-02T09:30" in result.output
