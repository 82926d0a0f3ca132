"""The /wechat endpoint through the real app: verification, the three modes, kinds, dedupe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import bind, make_student
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from wechat_craft import OPENID, craft, crypto, fixture, open_reply

from api.app import create_app
from bot.types import Inbound, Reply
from bot.wechat import sign
from core.invites import issue_invite
from models import ChannelAccount, InboundSeen, LocationSample, OutboxMessage


@pytest.fixture
def seen(monkeypatch) -> list[Inbound]:
    """Route every message to a recording handler that answers with the text it got."""
    calls: list[Inbound] = []

    def fake(ctx) -> list[Reply]:
        calls.append(ctx.inbound)
        return [Reply(f"收到：{ctx.inbound.text}")]

    monkeypatch.setattr("bot.pipeline.dispatch", fake)
    return calls


def post(client, settings, xml, *, at, mode=None):
    params, body = craft(settings, xml, at=at, mode=mode)
    return client.post("/wechat", params=params, content=body)


def test_url_verification_echoes_echostr_when_signature_is_valid(client, settings, now):
    ts, nonce = str(int(now.timestamp())), "998877"
    params = {"signature": sign("wxtoken", ts, nonce), "timestamp": ts, "nonce": nonce}
    r = client.get("/wechat", params=params | {"echostr": "5837397520619811234"})
    assert r.status_code == 200
    assert r.text == "5837397520619811234"
    assert r.headers["content-type"].startswith("text/plain")


def test_url_verification_refuses_a_wrong_or_missing_signature(client, now):
    ts = str(int(now.timestamp()))
    wrong = {"signature": "0" * 40, "timestamp": ts, "nonce": "1", "echostr": "x"}
    assert client.get("/wechat", params=wrong).status_code == 403
    missing = {"timestamp": ts, "nonce": "1", "echostr": "x"}
    assert client.get("/wechat", params=missing).status_code == 401


def test_safe_mode_url_verification_decrypts_the_echostr(client, settings, now):
    ts, nonce = str(int(now.timestamp())), "4455"
    sealed = crypto(settings).encrypt_message("echo-me-123", nonce, ts)
    encrypted = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    params = {
        "msg_signature": sign("wxtoken", ts, nonce, encrypted),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": encrypted,
    }
    r = client.get("/wechat", params=params)
    assert r.status_code == 200 and r.text == "echo-me-123"


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
def test_text_message_gets_a_passive_reply_in_every_mode(settings, engine, now, mode, seen):
    if mode == "plain":  # plaintext mode: an account without an encoding_aes_key
        settings = settings.model_copy(deep=True)
        settings.wechat.encoding_aes_key = ""
    app = create_app(settings, engine=engine)
    app.state.clock = lambda: now
    with TestClient(app) as client:
        r = post(client, settings, fixture("text.xml"), at=now, mode=mode)
    assert r.status_code == 200
    encrypted = "<Encrypt>" in r.text
    assert encrypted == (mode == "safe")  # compatible mode is answered in plaintext
    reply = open_reply(settings, r.text)
    assert reply["MsgType"] == "text"
    assert reply["Content"] == "收到：帮助"
    assert reply["ToUserName"] == OPENID and reply["FromUserName"] == "gh_3f2a1b9c8d7e"
    assert [i.text for i in seen] == ["帮助"]


def test_same_msgid_delivered_three_times_has_one_effect(client, settings, engine, now, seen):
    bodies = [post(client, settings, fixture("text.xml"), at=now, mode="safe") for _ in range(3)]
    assert all(r.status_code == 200 for r in bodies)
    assert len(seen) == 1
    assert {open_reply(settings, r.text)["Content"] for r in bodies} == {"收到：帮助"}
    with Session(engine) as session:
        rows = session.exec(select(InboundSeen)).all()
    assert [(r.channel, r.dedup_key) for r in rows] == [("wechat", "msg:24512345678901234")]


def test_events_are_deduplicated_by_sender_time_and_event(client, settings, now, seen):
    for _ in range(3):
        post(client, settings, fixture("click_status.xml"), at=now)
    post(client, settings, fixture("click_status.xml", CreateTime="1772413999"), at=now)
    assert [i.intent for i in seen] == ["status", "status"]


def test_location_message_is_a_gcj02_checkin_with_its_label(client, settings, now, seen):
    post(client, settings, fixture("location.xml"), at=now)
    (inbound,) = seen
    assert inbound.kind == "location" and inbound.intent == "checkin"
    loc = inbound.location
    assert (loc.lat, loc.lng, loc.datum, loc.source) == (26.5783, 106.7135, "gcj02", "location")
    assert loc.label == "贵州省贵阳市观山湖区林城西路"


def test_location_event_is_kept_as_evidence_and_answered_success(client, settings, engine, now):
    with Session(engine) as session:
        student = make_student(session)
        bind(session, person_kind="student", person_id=student.id, channel="wechat",
             external_id=OPENID, school_id=student.school_id)  # fmt: skip
        session.commit()
        student_id = student.id
    r = post(client, settings, fixture("event_location.xml"), at=now, mode="safe")
    assert r.status_code == 200 and r.text == "success"
    with Session(engine) as session:
        (sample,) = session.exec(select(LocationSample)).all()
    assert (sample.student_id, sample.source, sample.accuracy_m) == (student_id, "event", 65.0)
    assert sample.datum == "gcj02" and sample.at == now


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("image.xml", {"kind": "image", "media": "http://mmbiz.qpic.cn/mmbiz_jpg/"}),
        ("voice.xml", {"kind": "voice", "text": "我的状态"}),
        ("subscribe_qrscene.xml", {"intent": "bind", "text": "AB3D5F7H", "event": "subscribe"}),
        ("subscribe.xml", {"intent": "help", "event": "subscribe"}),
        ("click_status.xml", {"intent": "status", "event": "CLICK"}),
        ("click_journal_weekly.xml", {"intent": "journal", "text": "周记"}),
    ],
)
def test_message_kinds_map_to_inbound_events(client, settings, now, seen, name, expected):
    assert post(client, settings, fixture(name), at=now).status_code == 200
    (inbound,) = seen
    for attr, value in expected.items():
        assert str(getattr(inbound, attr)).startswith(value), (attr, getattr(inbound, attr))


def test_unsubscribe_ends_the_binding(client, settings, engine, now):
    with Session(engine) as session:
        student = make_student(session)
        bind(session, person_kind="student", person_id=student.id, channel="wechat",
             external_id=OPENID)  # fmt: skip
        session.commit()
    r = post(client, settings, fixture("unsubscribe.xml"), at=now)
    assert r.text == "success"
    with Session(engine) as session:
        account = session.exec(select(ChannelAccount)).one()
    assert account.active is False


def test_every_inbound_from_a_bound_user_opens_the_48_hour_window(
    client, settings, engine, now, seen
):
    with Session(engine) as session:
        student = make_student(session)
        bind(session, person_kind="student", person_id=student.id, channel="wechat",
             external_id=OPENID)  # fmt: skip
        session.commit()
    post(client, settings, fixture("text.xml"), at=now)
    with Session(engine) as session:
        account = session.exec(select(ChannelAccount)).one()
    assert account.last_inbound_at == now


def test_a_message_handled_after_the_deadline_answers_success_once_its_reply_is_queued(
    app, client, settings, engine, now, monkeypatch
):
    monkeypatch.setattr("bot.pipeline.dispatch", lambda ctx: [Reply("周记已提交")])
    app.state.pipeline.late_after_s = -1.0  # as if the writer had been busy for 4 s
    r = post(client, settings, fixture("text.xml"), at=now, mode="safe")
    assert r.text == "success"
    with Session(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
        seen = session.exec(select(InboundSeen)).one()
    assert (row.channel, row.to_external_id, row.text) == ("wechat", OPENID, "周记已提交")
    assert row.status == "pending" and row.quiet_hours is False
    assert seen.reply == ""  # WeChat's retry is answered "success" too, and sends nothing new
    again = post(client, settings, fixture("text.xml"), at=now, mode="safe")
    assert again.text == "success"


def test_a_crashing_handler_gets_an_apology_not_a_500_and_is_not_marked_seen(
    client, settings, engine, now, monkeypatch
):
    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr("bot.pipeline.dispatch", broken)
    r = post(client, settings, fixture("text.xml"), at=now)
    assert r.status_code == 200
    assert "稍后再试" in open_reply(settings, r.text)["Content"]
    with Session(engine) as session:
        assert session.exec(select(InboundSeen)).all() == []


def test_unbound_user_is_told_how_to_bind_by_the_real_dispatcher(app, client, settings, now):
    r = post(client, settings, fixture("text.xml", Content="你好"), at=now, mode="safe")
    assert "绑定码" in open_reply(settings, r.text)["Content"]


def test_scanning_a_parametric_qr_code_binds_through_the_real_dispatcher(
    app, client, settings, engine, now
):
    with Session(engine) as session:
        student = make_student(session, name="王小明")
        invite = issue_invite(
            session, person_kind="student", person_id=student.id,
            school_id=student.school_id, now=now - timedelta(days=1), ttl_days=30,
        )  # fmt: skip
        code, student_id = invite.code, student.id
        session.commit()
    xml = fixture("subscribe_qrscene.xml", EventKey=f"qrscene_{code}")
    reply = open_reply(settings, post(client, settings, xml, at=now, mode="safe").text)
    assert "绑定成功" in reply["Content"] and "王小明" in reply["Content"]
    with Session(engine) as session:
        account = session.exec(select(ChannelAccount)).one()
    assert (account.channel, account.external_id, account.person_id) == (
        "wechat",
        OPENID,
        student_id,
    )


def test_wechat_is_off_when_no_token_is_configured(settings, engine):
    off = settings.model_copy(update={"wechat": settings.wechat.model_copy(update={"token": ""})})
    with TestClient(create_app(off, engine=engine)) as client:
        assert client.get("/wechat").status_code == 404
        assert client.post("/wechat", content=b"<xml/>").status_code == 404
        assert client.get("/healthz").status_code == 200
