"""POST /telegram/webhook through the real app: secret, mapping, dedupe, replies via sendMessage."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import respx
from factories import make_student
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from api.commands.channels import register_webhook
from bot.types import Inbound, Reply
from core.invites import issue_invite
from models import ChannelAccount, InboundSeen

FIXTURES = Path(__file__).parent.parent / "fixtures" / "telegram"
SECRET = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
API = "https://api.telegram.org/bot123456:TEST-TOKEN"


def update(name: str, **changes) -> dict:
    data = json.loads((FIXTURES / name).read_text())
    data.update(changes)
    return data


def sent(route) -> list[dict]:
    """The parameters of each call PTB made (form-encoded, JSON values)."""
    out = []
    for call in route.calls:
        form = {k: v[0] for k, v in parse_qs(call.request.content.decode()).items()}
        if "reply_markup" in form:
            form["reply_markup"] = json.loads(form["reply_markup"])
        out.append(form)
    return out


def message_ok(chat_id: int = 5123456789) -> dict:
    return {
        "ok": True,
        "result": {
            "message_id": 99,
            "date": 1772413200,
            "chat": {"id": chat_id, "type": "private"},
            "text": "ok",
        },
    }


@pytest.fixture
def tg():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def seen(monkeypatch) -> list[Inbound]:
    """Route every update to a recording handler (the real pipeline around it)."""
    calls: list[Inbound] = []

    def fake(ctx) -> list[Reply]:
        calls.append(ctx.inbound)
        return [Reply("请发送您的位置", ask_location=True)]

    monkeypatch.setattr("bot.pipeline.dispatch", fake)
    return calls


def test_a_missing_secret_token_is_refused_with_401(client, seen):
    r = client.post("/telegram/webhook", json=update("text_en.json"))
    assert r.status_code == 401 and seen == []


def test_a_wrong_secret_token_is_refused_with_403(client, seen):
    headers = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
    r = client.post("/telegram/webhook", json=update("text_en.json"), headers=headers)
    assert r.status_code == 403 and seen == []


def test_a_location_is_a_wgs84_checkin_with_accuracy_and_the_reply_is_sent(tg, client, seen):
    route = tg.post(f"{API}/sendMessage").respond(json=message_ok())
    r = client.post("/telegram/webhook", json=update("location.json"), headers=SECRET)
    assert r.status_code == 200
    (inbound,) = seen
    assert (inbound.channel, inbound.user_id, inbound.kind) == (
        "telegram",
        "5123456789",
        "location",
    )
    loc = inbound.location
    assert (loc.lat, loc.lng, loc.datum, loc.source) == (26.581201, 106.708522, "wgs84", "location")
    assert loc.accuracy_m == 12.5 and inbound.intent == "checkin"
    (params,) = sent(route)
    assert params["chat_id"] == "5123456789" and params["text"] == "请发送您的位置"
    button = params["reply_markup"]["keyboard"][0][0]
    assert button["request_location"] is True and "位置" in button["text"]


def test_a_live_location_keeps_its_period_and_edits_are_silent_evidence(tg, client, seen):
    route = tg.post(f"{API}/sendMessage").respond(json=message_ok())
    client.post("/telegram/webhook", json=update("live_location_start.json"), headers=SECRET)
    client.post("/telegram/webhook", json=update("live_location_edit.json"), headers=SECRET)
    start, edit = seen
    assert start.location.source == "live" and start.location.live_period == 28800
    assert edit.location.source == "live" and edit.location.accuracy_m == 8
    assert route.call_count == 1  # the edit is recorded, not answered


def test_commands_map_to_intents_with_their_arguments(tg, client, seen):
    tg.post(f"{API}/sendMessage").respond(json=message_ok())
    client.post("/telegram/webhook", json=update("command_journal.json"), headers=SECRET)
    client.post("/telegram/webhook", json=update("start_deep_link.json"), headers=SECRET)
    bare = update("start_deep_link.json", update_id=1)
    bare["message"]["text"] = "/start"
    client.post("/telegram/webhook", json=bare, headers=SECRET)
    assert [(i.intent, i.text) for i in seen] == [
        ("journal", "周记"),
        ("bind", "AB3D5F7H"),
        ("help", ""),
    ]


def test_english_speakers_are_marked_english(tg, client, seen):
    tg.post(f"{API}/sendMessage").respond(json=message_ok(6234567890))
    client.post("/telegram/webhook", json=update("text_en.json"), headers=SECRET)
    (inbound,) = seen
    assert inbound.language == "en" and inbound.text == "hello there"
    assert inbound.display_name == "Li Na"


def test_a_redelivered_update_is_handled_once(tg, client, engine, seen):
    route = tg.post(f"{API}/sendMessage").respond(json=message_ok())
    for _ in range(3):
        assert (
            client.post(
                "/telegram/webhook", json=update("location.json"), headers=SECRET
            ).status_code
            == 200
        )
    assert len(seen) == 1 and route.call_count == 1
    with Session(engine) as session:
        keys = [r.dedup_key for r in session.exec(select(InboundSeen)).all()]
    assert keys == ["update:718204552"]


def test_group_chats_are_ignored(client, seen):
    r = client.post("/telegram/webhook", json=update("group_message.json"), headers=SECRET)
    assert r.status_code == 200 and seen == []


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"no": "update_id"}', b'{"update_id": "x"}']
)
def test_malformed_updates_get_400(client, body):
    r = client.post("/telegram/webhook", content=body, headers=SECRET)
    assert r.status_code == 400
    assert client.get("/healthz").status_code == 200


def test_an_oversized_update_gets_413(client):
    r = client.post("/telegram/webhook", content=b"{" + b" " * 70_000 + b"}", headers=SECRET)
    assert r.status_code == 413


def test_deep_link_binds_through_the_real_dispatcher_and_replies(tg, client, engine, now):
    with Session(engine) as session:
        student = make_student(session, name="王小明")
        invite = issue_invite(
            session, person_kind="student", person_id=student.id,
            school_id=student.school_id, now=now - timedelta(days=1), ttl_days=30,
        )  # fmt: skip
        code = invite.code
        session.commit()
    route = tg.post(f"{API}/sendMessage").respond(json=message_ok())
    data = update("start_deep_link.json")
    data["message"]["text"] = f"/start {code}"
    assert client.post("/telegram/webhook", json=data, headers=SECRET).status_code == 200
    texts = [p["text"] for p in sent(route)]
    assert any("绑定成功" in t and "王小明" in t for t in texts), texts
    with Session(engine) as session:
        account = session.exec(select(ChannelAccount)).one()
    assert (account.channel, account.external_id) == ("telegram", "5123456789")


def test_a_failed_reply_is_left_to_the_outbox(tg, client, engine, seen, now):
    from models import OutboxMessage

    tg.post(f"{API}/sendMessage").respond(status_code=502)
    client.post("/telegram/webhook", json=update("location.json"), headers=SECRET)
    with Session(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert (row.channel, row.to_external_id, row.text) == (
        "telegram",
        "5123456789",
        "请发送您的位置",
    )
    assert row.status == "pending" and row.next_attempt_at <= now  # the sender's, at once


def test_a_sent_reply_is_marked_sent_and_never_sent_again(tg, client, engine, seen):
    from models import OutboxMessage

    route = tg.post(f"{API}/sendMessage").respond(json=message_ok())
    client.post("/telegram/webhook", json=update("location.json"), headers=SECRET)
    with Session(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert route.call_count == 1
    assert (row.status, row.upstream_id) == ("sent", "99")


def test_a_custom_api_base_url_is_honoured(settings, engine, now, monkeypatch):
    custom = settings.model_copy(
        update={
            "telegram": settings.telegram.model_copy(
                update={"api_base_url": "https://tg-proxy.example.edu.cn"}
            )
        }
    )
    app = create_app(custom, engine=engine)
    app.state.clock = lambda: now
    monkeypatch.setattr("bot.pipeline.dispatch", lambda ctx: [Reply("好的")])
    with respx.mock(assert_all_mocked=True) as mock, TestClient(app) as client:
        route = mock.post("https://tg-proxy.example.edu.cn/bot123456:TEST-TOKEN/sendMessage")
        route.respond(json=message_ok())
        client.post("/telegram/webhook", json=update("location.json"), headers=SECRET)
    assert route.call_count == 1


async def test_set_webhook_registers_our_url_with_the_secret(tg, settings):
    route = tg.post(f"{API}/setWebhook").respond(json={"ok": True, "result": True})
    url = await register_webhook(settings, "https://shixi.example.edu.cn/")
    assert url == "https://shixi.example.edu.cn/telegram/webhook"
    (params,) = sent(route)
    assert params["url"] == url and params["secret_token"] == "tg-secret"


def test_telegram_is_off_when_no_token_is_configured(settings, engine):
    off = settings.model_copy(
        update={"telegram": settings.telegram.model_copy(update={"token": ""})}
    )
    with TestClient(create_app(off, engine=engine)) as client:
        r = client.post("/telegram/webhook", json=update("text_en.json"), headers=SECRET)
        assert r.status_code == 404


def test_a_forwarded_location_is_marked_forwarded_and_a_plain_one_is_not(tg, client, seen):
    tg.post(f"{API}/sendMessage").respond(json=message_ok())
    client.post("/telegram/webhook", json=update("location_forwarded.json"), headers=SECRET)
    client.post("/telegram/webhook", json=update("location.json"), headers=SECRET)
    forwarded, plain = seen
    assert forwarded.forwarded and forwarded.intent == "checkin"
    assert not plain.forwarded
