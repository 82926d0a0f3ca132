"""Hostile and forged callbacks to /wechat get a 4xx, never a 500, and the app keeps serving."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from wechat_craft import craft, fixture

from bot.types import Reply
from models import InboundSeen


@pytest.fixture
def calls(monkeypatch):
    """What reached the handlers: every message is answered 好的 by a recording handler."""
    seen = []
    monkeypatch.setattr(
        "bot.pipeline.dispatch", lambda ctx: seen.append(ctx.inbound) or [Reply("好的")]
    )
    return seen


@pytest.fixture
def client(app, calls):
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def assert_still_serving(client) -> None:
    assert client.get("/healthz").status_code == 200


def test_a_bad_signature_is_refused_with_403(client, settings, now, calls):
    params, body = craft(settings, fixture("text.xml"), at=now)
    params["signature"] = params["msg_signature"] = "f" * 40
    assert client.post("/wechat", params=params, content=body).status_code == 403
    assert calls == []


def test_a_missing_signature_is_refused_with_401(client, settings, now, calls):
    params, body = craft(settings, fixture("text.xml"), at=now)
    del params["signature"], params["msg_signature"]
    assert client.post("/wechat", params=params, content=body).status_code == 401


def test_a_bad_msg_signature_in_safe_mode_is_refused(client, settings, now, calls):
    params, body = craft(settings, fixture("text.xml"), at=now, mode="safe")
    params["msg_signature"] = "0" * 40
    assert client.post("/wechat", params=params, content=body).status_code == 403
    assert calls == []


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_timestamp_outside_the_replay_window_is_refused(client, settings, now, calls, offset):
    # Correctly signed, but sent (or replayed) six minutes away from our clock.
    params, body = craft(settings, fixture("text.xml"), at=now + offset)
    assert client.post("/wechat", params=params, content=body).status_code == 401
    assert calls == []


def test_a_replayed_callback_is_refused_and_leaves_no_trace(client, settings, engine, now):
    params, body = craft(settings, fixture("text.xml"), at=now - timedelta(hours=1))
    assert client.post("/wechat", params=params, content=body).status_code == 401
    with Session(engine) as session:
        assert session.exec(select(InboundSeen)).all() == []


@pytest.mark.parametrize("name", ["xxe.xml", "billion_laughs.xml"])
@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_entities_and_dtds_are_refused(client, settings, now, calls, name, mode):
    params, body = craft(settings, fixture(name), at=now, mode=mode)
    r = client.post("/wechat", params=params, content=body)
    assert r.status_code == 400
    assert "root:" not in r.text and "lol" not in r.text
    assert calls == []
    assert_still_serving(client)


def test_three_megabytes_of_junk_get_413(client, settings, now):
    params, _ = craft(settings, fixture("text.xml"), at=now)
    r = client.post("/wechat", params=params, content=b"\x00\xff junk " * 330_000)
    assert r.status_code == 413
    assert_still_serving(client)


def test_an_oversized_body_without_content_length_is_cut_off(client, settings, now):
    params, _ = craft(settings, fixture("text.xml"), at=now)

    def stream():  # chunked: the size is only known by reading, which stops at the limit
        for _ in range(100):
            yield b"<xml>" + b"a" * 4096

    r = client.post("/wechat", params=params, content=stream())
    assert r.status_code == 413
    assert_still_serving(client)


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml at all", b"<xml><unclosed></xml>", b"<root><MsgType>text</MsgType></root>",
     "<xml><MsgType>text</MsgType></xml>".encode("utf-16"), b"<xml></xml>"],
)  # fmt: skip
def test_malformed_bodies_get_400(client, settings, now, calls, body):
    params, _ = craft(settings, "<xml/>", at=now)
    assert client.post("/wechat", params=params, content=body).status_code == 400
    assert calls == []
    assert_still_serving(client)


def test_garbage_ciphertext_in_safe_mode_gets_400(client, settings, now):
    from bot.wechat import sign

    params, _ = craft(settings, fixture("text.xml"), at=now, mode="safe")
    junk = "bm90IGEgY2lwaGVydGV4dA=="
    params["msg_signature"] = sign("wxtoken", params["timestamp"], params["nonce"], junk)
    body = f"<xml><Encrypt><![CDATA[{junk}]]></Encrypt></xml>".encode()
    assert client.post("/wechat", params=params, content=body).status_code == 400
    assert_still_serving(client)


def test_a_location_with_non_numeric_coordinates_gets_400(client, settings, now, calls):
    xml = fixture("location.xml").replace("26.578300", "north")
    params, body = craft(settings, xml, at=now)
    assert client.post("/wechat", params=params, content=body).status_code == 400
    assert calls == []
