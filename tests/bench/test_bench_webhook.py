"""The per-kind webhook bench: callbacks the app accepts, effect readers that see losses and
duplicates, and a tiny end-to-end run of every kind against the real server (no timing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from sqlmodel import Session

from bench import effects, population, webhook
from bench.callbacks import AES_KEY, APP_ID, TOKEN, Crafter
from bot.wechat import WechatCodec, dedup_key
from core.invites import ALPHABET, CODE_LENGTH
from core.settings import Settings
from models import ConversationState, InboundSeen, OutboxMessage, Ticket
from models.db import make_engine


def test_crafted_callbacks_open_with_the_apps_codec():
    settings = Settings(wechat={"token": TOKEN, "app_id": APP_ID, "encoding_aes_key": AES_KEY})
    codec = WechatCodec(settings)
    craft = Crafter()
    text, where = craft.text("oStudent", "维权 工资拖欠"), craft.location("oStudent")
    assert text.msg_id != where.msg_id
    for callback in (text, where):
        params = dict(parse_qsl(callback.query))
        _, fields, encrypted = codec.open(params, callback.body.encode(), datetime.now(UTC))
        assert encrypted and fields["FromUserName"] == "oStudent"
        assert dedup_key(fields) == callback.dedup_key
    _, fields, _ = codec.open(dict(parse_qsl(text.query)), text.body.encode(), datetime.now(UTC))
    assert (fields["MsgType"], fields["Content"]) == ("text", "维权 工资拖欠")
    raw = text.raw("127.0.0.1:1")
    assert raw.startswith("POST /wechat?") and raw.endswith(text.body)


def test_invite_codes_are_well_formed_and_distinct():
    codes = [population.code_for(n) for n in range(7_777_777, 7_787_777)]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == CODE_LENGTH and set(c) <= set(ALPHABET) for c in codes)


def test_the_effect_readers_tell_lost_from_duplicated(db_url):
    a, b, c = population.add_students(db_url, 3)
    school = population.world(db_url).school_id
    now = datetime.now(UTC)
    engine = make_engine(db_url)
    with Session(engine) as session:
        for student, n in ((a, 2), (b, 1)):
            for _ in range(n):
                session.add(
                    Ticket(school_id=school, student_id=student, category="wages",
                           description=f"拖欠工资 R{student}")
                )  # fmt: skip
        session.add(Ticket(school_id=school, student_id=c, category="wages", description="别的"))
        for openid, data in (("oA", {"parts": ["J1", "J1"]}), ("oB", {"parts": ["J2"]})):
            session.add(
                ConversationState(channel="wechat", external_id=openid, state="journal_draft",
                                  data=data, expires_at=now + timedelta(hours=1))
            )  # fmt: skip
        session.add(InboundSeen(channel="wechat", dedup_key="msg:1", reply="您好"))
        session.add(InboundSeen(channel="wechat", dedup_key="msg:2", reply=None))
        session.add(InboundSeen(channel="wechat", dedup_key="msg:3", reply=None))
        session.add(
            OutboxMessage(idempotency_key="reply:wechat:msg:3", kind="reply", channel="wechat",
                          to_external_id="oA", text="晚到的回复", next_attempt_at=now)
        )  # fmt: skip
        session.commit()
    engine.dispose()
    assert effects.tickets(db_url, {a: f"R{a}", b: f"R{b}", c: f"R{c}"}) == {a: 2, b: 1, c: 0}
    assert effects.drafts(db_url, {"oA": "J1", "oB": "J2", "oC": "J3"}) == {
        "oA": 2,
        "oB": 1,
        "oC": 0,
    }
    assert effects.open_drafts(db_url, ["oA", "oB", "oC"]) == 2
    assert effects.replies(db_url, ["msg:1", "msg:2", "msg:3", "msg:4"]) == {
        "msg:1": "stored",
        "msg:2": "empty",
        "msg:3": "outbox",
        "msg:4": "unseen",
    }


def test_every_kind_makes_exactly_one_effect_per_request(sqlite_url):
    result = webhook.run(
        sqlite_url, requests=12, connections=4, max_s=60, bare_min=50, log=lambda _m: None
    )
    assert result["bare"]["ok"] > 0
    assert set(result["kinds"]) == {"location", "status", "journal_part", "report", "bind", "today"}
    for name, entry in result["kinds"].items():
        assert (entry["ok"], entry["errors"]) == (12, 0), name
        assert entry["effects"] == 12 and entry["duplicated"] == 0 and entry["effects_ok"], name
    assert result["kinds"]["journal_part"]["setup"] == {"sent": 12, "ok": 12, "errors": 0}
