"""POST /wechat answered in front of FastAPI: the same answers as a route, plain ASGI."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import QueryParams

from api.wechat_lane import ShixiApp, _query
from bot.wechat import WechatRejected

LIMIT = 1024


class FakeWebhook:
    """Records what the lane hands over and answers as told."""

    def __init__(self, answer: str = "success", error: Exception | None = None):
        self.answer, self.error = answer, error
        self.calls: list[tuple[dict, bytes]] = []

    async def handle(self, params: dict, body: bytes) -> str:
        self.calls.append((params, body))
        if self.error is not None:
            raise self.error
        return self.answer


def lane_app(webhook: FakeWebhook) -> ShixiApp:
    app = ShixiApp()
    app.state.settings = SimpleNamespace(server=SimpleNamespace(max_body_bytes=LIMIT))
    app.state.wechat = webhook

    @app.get("/wechat")
    def verify():
        return "verified by FastAPI"

    return app


async def call(app, *, body=b"", chunks=None, query=b"", headers=(), method="POST", events=None):
    """Drive the app like a server: (messages it sent, also appended to `events`; chunks read)."""
    events = [] if events is None else events
    pending = list(chunks) if chunks is not None else [body]
    received = []

    async def receive():
        if not pending:
            return {"type": "http.disconnect"}
        chunk = pending.pop(0)
        received.append(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message):
        events.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": "/wechat",
        "raw_path": b"/wechat",
        "query_string": query,
        "root_path": "",
        "headers": list(headers),
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
    }
    await app(scope, receive, send)
    return [e for e in events if isinstance(e, dict)], received


def response(sent) -> tuple[int, dict, bytes]:
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


async def test_a_callback_goes_to_the_webhook_with_its_query_and_body():
    webhook = FakeWebhook("<xml>回复</xml>")
    sent, _ = await call(
        lane_app(webhook), body=b"<xml/>", query=b"signature=ab&timestamp=1&nonce=n&openid="
    )
    status, headers, body = response(sent)
    assert status == 200 and body == "<xml>回复</xml>".encode()
    assert headers[b"content-type"] == b"application/xml"
    assert headers[b"content-length"] == str(len(body)).encode()
    params = {"signature": "ab", "timestamp": "1", "nonce": "n", "openid": ""}
    assert webhook.calls == [(params, b"<xml/>")]


async def test_success_is_plain_text_and_a_chunked_body_is_joined():
    webhook = FakeWebhook()
    sent, _ = await call(lane_app(webhook), chunks=[b"<xml>", b"<A>1</A>", b"</xml>"])
    status, headers, body = response(sent)
    assert (status, body) == (200, b"success")
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert webhook.calls[0][1] == b"<xml><A>1</A></xml>"


async def test_a_declared_oversized_body_gets_413_without_being_read():
    webhook = FakeWebhook()
    headers = [(b"content-length", str(LIMIT + 1).encode())]
    sent, received = await call(lane_app(webhook), body=b"x" * (LIMIT + 1), headers=headers)
    status, _, body = response(sent)
    assert (status, body) == (413, b"body too large")
    assert webhook.calls == [] and received == []


async def test_an_undeclared_oversized_body_is_cut_off_at_the_limit():
    webhook = FakeWebhook()
    chunks = [b"a" * 600, b"a" * 600, b"a" * 600]
    sent, received = await call(lane_app(webhook), chunks=chunks)
    assert response(sent)[0] == 413
    assert webhook.calls == [] and len(received) == 2  # stopped once over the limit


async def test_a_refused_callback_gets_its_status_and_reason_as_text():
    webhook = FakeWebhook(error=WechatRejected(403, "bad signature"))
    sent, _ = await call(lane_app(webhook), body=b"<xml/>")
    status, headers, body = response(sent)
    assert (status, body) == (403, b"bad signature")
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"


async def test_an_unexpected_error_answers_500_and_reaches_the_server():
    webhook = FakeWebhook(error=RuntimeError("boom"))
    events: list = []
    with pytest.raises(RuntimeError):  # as FastAPI's error middleware does: the server logs it
        await call(lane_app(webhook), body=b"<xml/>", events=events)
    status, _, body = response(events)
    assert (status, body) == (500, b"Internal Server Error")


async def test_a_client_gone_before_its_body_arrived_gets_nothing():
    webhook = FakeWebhook()
    assert await call(lane_app(webhook), chunks=[]) == ([], [])
    assert webhook.calls == []


def test_everything_else_goes_to_fastapi():
    webhook = FakeWebhook()
    with TestClient(lane_app(webhook)) as client:  # the lifespan goes through as well
        assert client.get("/wechat").json() == "verified by FastAPI"
        assert client.post("/wechat/other").status_code == 404
        assert client.put("/wechat").status_code == 405
    assert webhook.calls == []


def test_with_wechat_off_fastapi_answers_404():
    app = ShixiApp()
    with TestClient(app) as client:
        assert client.post("/wechat", content=b"<xml/>").status_code == 404


@pytest.mark.parametrize(
    "raw",
    [b"", b"a=1&b=2", b"a=1&a=2", b"a", b"a=&=b&&c=d=e", b"sig=%41%42&x=a+b", b"n=%E4%BD%A0",
     b"k=\xe4\xbd\xa0", b"a=1;b=2"],
)  # fmt: skip
def test_query_parameters_are_read_as_starlette_reads_them(raw):
    assert _query(raw) == dict(QueryParams(raw))
