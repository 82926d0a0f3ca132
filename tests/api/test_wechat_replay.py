"""Review findings on /wechat: plaintext refused in safe mode, a (timestamp, nonce) accepted once,
and hostile query parameters answered with a 4xx, never a 500."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, func, select
from wechat_craft import craft, fixture, open_reply

from api.app import create_app
from bot.types import Reply
from bot.wechat import sign
from models import WechatNonce
from models.replay import stored_nonces_read
from scheduler.housekeeping import sweep_housekeeping


@pytest.fixture
def calls(monkeypatch):
    """What reached the handlers: every message is answered 好的 by a recording handler."""
    seen = []
    monkeypatch.setattr(
        "bot.pipeline.dispatch", lambda ctx: seen.append(ctx.inbound) or [Reply("好的")]
    )
    return seen


def _serve(app, calls, now):
    app.state.clock = lambda: now
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(app, calls, now):
    with _serve(app, calls, now) as client:
        yield client


def test_a_plaintext_callback_is_refused_when_the_account_has_an_aes_key(
    client, settings, now, calls
):
    # Correctly signed, but a plaintext signature covers no byte of the body.
    params, body = craft(settings, fixture("location.xml"), at=now, mode="plain")
    r = client.post("/wechat", params=params, content=body)
    assert r.status_code == 403
    assert calls == []


def test_a_replayed_timestamp_and_nonce_with_another_body_is_refused(client, settings, now, calls):
    first, body = craft(settings, fixture("text.xml"), at=now, mode="safe", nonce="4242")
    assert client.post("/wechat", params=first, content=body).status_code == 200
    # Same (timestamp, nonce), a different message: what an eavesdropper on the URL could do.
    other = fixture("text.xml", Content="维权 老板不发工资", MsgId="999")
    params, body = craft(settings, other, at=now, mode="safe", nonce="4242")
    r = client.post("/wechat", params=params, content=body)
    assert r.status_code == 403
    assert [i.text for i in calls] == ["帮助"]


def test_a_retry_of_the_same_message_with_the_same_nonce_gets_the_same_reply(
    client, settings, now, calls
):
    replies = []
    for _ in range(3):  # WeChat retries an unanswered callback with the same message
        params, body = craft(settings, fixture("text.xml"), at=now, mode="safe", nonce="77")
        r = client.post("/wechat", params=params, content=body)
        assert r.status_code == 200
        replies.append(open_reply(settings, r.text)["Content"])
    assert replies == ["好的"] * 3
    assert len(calls) == 1


def test_the_nonce_store_is_shared_by_every_process(settings, engine, now, calls):
    one, two = create_app(settings, engine=engine), create_app(settings, engine=engine)
    params, body = craft(settings, fixture("text.xml"), at=now, mode="safe", nonce="5")
    other = fixture("text.xml", Content="状态", MsgId="31")
    replay, replay_body = craft(settings, other, at=now, mode="safe", nonce="5")
    with _serve(one, calls, now) as a, _serve(two, calls, now) as b:
        assert a.post("/wechat", params=params, content=body).status_code == 200
        assert b.post("/wechat", params=replay, content=replay_body).status_code == 403
    assert len(calls) == 1


def test_without_an_aes_key_a_replayed_nonce_with_another_body_is_refused_too(
    settings, engine, now, calls
):
    plain = settings.model_copy(deep=True)
    plain.wechat.encoding_aes_key = ""
    with _serve(create_app(plain, engine=engine), calls, now) as client:
        params, body = craft(plain, fixture("text.xml"), at=now, nonce="9")
        assert client.post("/wechat", params=params, content=body).status_code == 200
        forged = fixture("text.xml", Content="解绑", MsgId="32")
        assert client.post("/wechat", params=params, content=forged.encode()).status_code == 403
    assert [i.text for i in calls] == ["帮助"]


def test_housekeeping_forgets_nonces_older_than_twice_the_window(client, settings, engine, now):
    params, body = craft(settings, fixture("text.xml"), at=now, mode="safe")
    assert client.post("/wechat", params=params, content=body).status_code == 200
    with Session(engine) as session:
        window = timedelta(seconds=settings.wechat.replay_window_s)
        assert sweep_housekeeping(session, settings, now + window).get("wechat_nonces") is None
        later = now + 2 * window + timedelta(seconds=1)
        assert sweep_housekeeping(session, settings, later) == {"wechat_nonces": 1}
        session.commit()
        assert session.exec(select(func.count()).select_from(WechatNonce)).one() == 0


@pytest.mark.parametrize("signature", ["签名", "é" * 40, "\u00ff"])
def test_a_non_ascii_signature_is_a_403_not_a_500(client, settings, now, signature):
    ts, nonce = str(int(now.timestamp())), "1"
    query = {"signature": signature, "timestamp": ts, "nonce": nonce, "echostr": "x"}
    assert client.get("/wechat", params=query).status_code == 403
    params, body = craft(settings, fixture("text.xml"), at=now)
    params["msg_signature"] = signature
    assert client.post("/wechat", params=params, content=body).status_code == 403


@pytest.mark.parametrize("timestamp", ["²", "١٢٣", "9" * 5000, "-1", " 1"])
def test_a_timestamp_that_is_not_ascii_digits_is_a_401_not_a_500(client, settings, now, timestamp):
    nonce = "1"
    query = {"signature": sign("wxtoken", timestamp, nonce), "timestamp": timestamp,
             "nonce": nonce, "echostr": "x"}  # fmt: skip
    assert client.get("/wechat", params=query).status_code == 401
    params, body = craft(settings, fixture("text.xml"), at=now)
    params["timestamp"] = timestamp
    assert client.post("/wechat", params=params, content=body).status_code == 401


@pytest.mark.parametrize("value", ["nan", "inf", "-1e309", "91", "1e5"])
def test_impossible_coordinates_are_a_400(client, settings, now, calls, value):
    xml = fixture("location.xml", Location_X=value)
    params, body = craft(settings, xml, at=now)
    assert client.post("/wechat", params=params, content=body).status_code == 400
    assert calls == []


def _busy_seconds(engine, now, seconds: int, each: int) -> int:
    """`each` accepted pairs in each of `seconds` busy seconds; returns the first second."""
    first = int(now.timestamp())
    rows = [
        dict(timestamp=first + s, nonce=f"n{i}", digest=f"{i:064x}", at=now)
        for s in range(seconds)
        for i in range(each)
    ]
    with engine.begin() as conn:
        conn.execute(WechatNonce.__table__.insert(), rows)
    return first


def test_the_stored_pairs_are_told_apart_from_new_ones_sharing_their_timestamps(engine, now):
    timestamp = _busy_seconds(engine, now, 1, 50)
    asked = [(timestamp, "n3"), (timestamp, "n49"), (timestamp, "new"), (timestamp + 1, "n3")]
    with engine.connect() as conn:
        found = stored_nonces_read(conn, pairs=asked).run(conn)
    assert found == {(timestamp, "n3"): f"{3:064x}", (timestamp, "n49"): f"{49:064x}"}


def test_the_nonce_read_probes_each_pair_whatever_the_statistics(engine, now):
    """PostgreSQL: busy seconds share their timestamps between thousands of pairs. The read
    tested timestamps and nonces apart: every nonce at every timestamp asked (or, with other
    statistics, every pair of those seconds: 2.4 ms a batch in the bench); now it probes the
    primary key once per pair (two pages each), even in the generic plan."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL planner question")
    timestamp = _busy_seconds(engine, now, 4, 1500)
    pairs = [(timestamp + i % 2, f"new{i}") for i in range(31)]
    with engine.begin() as conn:
        conn.execute(text("ANALYZE wechat_nonces"))
        conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        read = stored_nonces_read(conn, pairs=pairs)
        sql = read.prepared.statements["postgresql"].compile(dialect=engine.dialect).string
        sql = sql.replace("%(timestamps)s", "$1").replace("%(nonces)s", "$2")
        conn.exec_driver_sql(f"PREPARE nonces AS {sql}")
        timestamps = ",".join(str(t) for t, _ in pairs)
        nonces = ",".join(n for _, n in pairs)
        args = f"'{{{timestamps}}}', '{{{nonces}}}'"
        plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE nonces({args})")
        plan = plan.scalars().all()
        conn.exec_driver_sql("DEALLOCATE nonces")
    buffers = int(re.search(r"shared hit=(\d+)", "".join(plan)).group(1))  # the whole plan's
    assert buffers <= 2 * len(pairs) + 4, "\n".join(plan)
