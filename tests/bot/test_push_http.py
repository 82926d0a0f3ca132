"""The client the outbox pushes with (aiohttp), against a scripted loopback server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import ipaddress
import json
import ssl

import aiohttp
import httpx
import pytest

from bot.push_http import PushClient, post_bytes

FORM = "application/x-www-form-urlencoded"
CLOSE = object()  # an answer: close the connection without a word


def answer(body: bytes = b'{"ok":true}', *, status: str = "200 OK", headers: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{headers}\r\n"
    ).encode() + body


class Upstream:
    """Reads whole requests; answers each with the next scripted item (bytes, CLOSE, or a
    coroutine function given the writer); counts connections. `held` answers wait for
    `release`, which the fixture sets at the end."""

    def __init__(self) -> None:
        self.answers: list = []
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self.url = ""
        self.release = asyncio.Event()
        self.arrived = asyncio.Condition()
        self.closed = asyncio.Event()  # set when a handler has closed its connection

    async def held(self, writer) -> None:
        await self.release.wait()
        writer.write(answer())

    async def wait_for_requests(self, n: int) -> None:
        async with self.arrived:
            await self.arrived.wait_for(lambda: len(self.requests) >= n)

    async def handle(self, reader, writer) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append((head, await reader.readexactly(length)))
                async with self.arrived:
                    self.arrived.notify_all()
                item = self.answers.pop(0) if self.answers else answer()
                if item is CLOSE:
                    break
                if callable(item):
                    await item(writer)
                else:
                    writer.write(item)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self.closed.set()


async def serve(up: Upstream, **kwargs):
    server = await asyncio.start_server(up.handle, "127.0.0.1", 0, **kwargs)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
async def upstream():
    up = Upstream()
    server, port = await serve(up)
    up.url = f"http://127.0.0.1:{port}"
    yield up
    up.release.set()
    server.close()


@pytest.fixture
async def client():
    async with PushClient(timeout=httpx.Timeout(2.0), max_connections=4) as http:
        yield http


async def post(client, upstream, path="/send", body=b"a=1"):
    return await post_bytes(client, upstream.url + path, body, FORM)


async def test_requests_reuse_one_connection_and_arrive_whole(client, upstream):
    upstream.answers = [answer(b'{"n":1}'), answer(b'{"n":2}')]
    assert await post(client, upstream, "/bot1:T/sendMessage?x=1", "text=你好".encode()) == (
        200,
        b'{"n":1}',
    )
    assert await post(client, upstream) == (200, b'{"n":2}')
    assert upstream.connections == 1
    head, body = upstream.requests[0]
    assert head.startswith(b"POST /bot1:T/sendMessage?x=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in head and f"Content-Type: {FORM}".encode() in head
    assert body == "text=你好".encode()


async def test_error_statuses_are_answers_and_redirects_are_not_followed(client, upstream):
    upstream.answers = [
        answer(b'{"a":1}', status="502 Bad Gateway"),
        answer(b"", status="302 Found", headers="Location: /elsewhere\r\n"),
    ]
    assert await post(client, upstream) == (502, b'{"a":1}')
    assert await post(client, upstream) == (302, b"")
    assert len(upstream.requests) == 2


async def test_chunked_and_compressed_answers_are_decoded(client, upstream):
    async def chunked(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel")
        await writer.drain()
        await asyncio.sleep(0)  # the rest in a second segment
        writer.write(b"lo\r\n6\r\n world\r\n0\r\n\r\n")

    packed = gzip.compress(b'{"ok":true}')
    upstream.answers = [chunked, answer(packed, headers="Content-Encoding: gzip\r\n")]
    assert await post(client, upstream) == (200, b"hello world")
    assert await post(client, upstream) == (200, b'{"ok":true}')
    assert upstream.connections == 1


@pytest.mark.parametrize(
    "first",
    [
        answer(headers="Connection: close\r\n"),
        b'HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\n{"ok":true}',
    ],
)
async def test_a_connection_the_answer_does_not_keep_alive_is_replaced(client, upstream, first):
    upstream.answers = [first]
    assert await post(client, upstream) == (200, b'{"ok":true}')
    assert await post(client, upstream) == (200, b'{"ok":true}')
    assert upstream.connections == 2


async def test_a_connection_the_server_closes_while_idle_is_not_reused(client, upstream):
    async def and_close(writer):
        writer.write(answer())
        await writer.drain()
        writer.close()  # as when the server times the idle connection out

    upstream.answers = [and_close]
    assert await post(client, upstream) == (200, b'{"ok":true}')
    await upstream.closed.wait()
    for _ in range(5):  # loop turns (no clock) for the client to read the close
        await asyncio.sleep(0)
    assert await post(client, upstream) == (200, b'{"ok":true}')
    assert upstream.connections == 2


async def test_a_push_the_server_hangs_up_on_fails_unsent_again(client, upstream):
    upstream.answers = [answer(), CLOSE]
    assert await post(client, upstream) == (200, b'{"ok":true}')
    with pytest.raises(httpx.RemoteProtocolError):
        await post(client, upstream)
    assert len(upstream.requests) == 2  # a POST is not retried behind the caller's back
    assert await post(client, upstream) == (200, b'{"ok":true}')
    assert upstream.connections == 2


async def test_a_server_that_hangs_up_mid_answer_is_a_protocol_error(client, upstream):
    async def half(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort")
        await writer.drain()
        writer.close()

    upstream.answers = [half]
    with pytest.raises(httpx.RemoteProtocolError):
        await post(client, upstream)
    assert await post(client, upstream) == (200, b'{"ok":true}')


@pytest.mark.parametrize("garbage", [b"SPDY/3 200 OK\r\n\r\n", b"HTTP/1.1 2x0 OK\r\n\r\n"])
async def test_a_malformed_answer_is_a_protocol_error(client, upstream, garbage):
    upstream.answers = [garbage]
    with pytest.raises(httpx.RemoteProtocolError):
        await post(client, upstream)


async def test_no_answer_within_the_read_timeout_is_a_read_timeout(upstream):
    upstream.answers = [upstream.held]  # no answer until the test is over
    async with PushClient(timeout=httpx.Timeout(5.0, read=0.05), max_connections=2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await post(http, upstream)
        assert await post(http, upstream) == (200, b'{"ok":true}')  # on a new connection


async def test_nobody_listening_is_a_connect_error(client):
    with pytest.raises(httpx.ConnectError):
        await post_bytes(client, "http://127.0.0.1:9/", b"", FORM)


async def test_a_url_that_is_not_http_is_refused(client):
    with pytest.raises(httpx.UnsupportedProtocol):
        await post_bytes(client, "ftp://127.0.0.1/", b"", FORM)


async def test_at_most_max_connections_are_open_at_once(upstream):
    queued = asyncio.Condition()
    waiting = [0]

    async def on_queued(session, context, params):
        async with queued:
            waiting[0] += 1
            queued.notify_all()

    trace = aiohttp.TraceConfig()
    trace.on_connection_queued_start.append(on_queued)
    upstream.answers = [upstream.held] * 12
    async with PushClient(timeout=5.0, max_connections=3, trace_configs=[trace]) as http:
        posts = [asyncio.ensure_future(post(http, upstream)) for _ in range(12)]
        await upstream.wait_for_requests(3)
        async with queued:  # the other 9 wait for one of the 3 connections ...
            await queued.wait_for(lambda: waiting[0] == 9)
        assert upstream.connections == 3 and len(upstream.requests) == 3
        upstream.release.set()  # ... and go over them once answers come
        results = await asyncio.gather(*posts)
    assert results == [(200, b'{"ok":true}')] * 12
    assert upstream.connections == 3


async def test_waiting_longer_than_the_pool_timeout_for_a_connection_fails(upstream):
    upstream.answers = [upstream.held]
    timeout = httpx.Timeout(2.0, pool=0.05)
    async with PushClient(timeout=timeout, max_connections=1) as http:
        first = asyncio.create_task(post(http, upstream))
        await upstream.wait_for_requests(1)  # the one connection is busy
        # aiohttp counts the wait for a free connection in its connect timeout.
        with pytest.raises(httpx.ConnectTimeout):
            await post(http, upstream)
        upstream.release.set()
        assert await first == (200, b'{"ok":true}')


def _self_signed(tmp_path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


async def test_https_is_verified_and_kept_alive(tmp_path):
    cert, key = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    up = Upstream()
    server, port = await serve(up, ssl=server_context)
    url = f"https://127.0.0.1:{port}/send"
    try:
        trusting = ssl.create_default_context(cafile=cert)
        async with PushClient(timeout=2.0, verify=trusting) as http:
            for _ in range(2):
                assert await post_bytes(http, url, b"x", FORM) == (200, b'{"ok":true}')
        assert up.connections == 1
        async with PushClient(timeout=2.0, max_connections=1) as http:  # the usual CAs only
            with pytest.raises(httpx.ConnectError):
                await post_bytes(http, url, b"x", FORM)
    finally:
        server.close()


async def test_a_proxy_from_the_environment_is_used(monkeypatch):
    proxy = Upstream()
    server, port = await serve(proxy)
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    try:
        async with PushClient(timeout=2.0) as http:
            assert await post_bytes(http, "http://push.invalid/send", b"x", FORM) == (
                200,
                b'{"ok":true}',
            )
    finally:
        server.close()
    ((head, body),) = proxy.requests
    assert head.startswith(b"POST http://push.invalid/send HTTP/1.1\r\n") and body == b"x"


async def test_post_bytes_on_a_plain_httpx_client_answers_the_same(upstream):
    upstream.answers = [answer(b'{"x":1}', status="502 Bad Gateway")]
    async with httpx.AsyncClient() as http:
        assert await post(http, upstream) == (502, b'{"x":1}')


# --- the senders on this client -------------------------------------------------------------


def _message(to: str, channel: str, **kw):
    from bot.senders import Outgoing

    return Outgoing(1, channel, to, "请记得签到", **kw)


async def test_telegram_pushes_a_form_and_reads_flood_control(client, upstream, settings, now):
    from bot.senders import SendError, TelegramSender

    settings.telegram.api_base_url = upstream.url
    upstream.answers = [
        answer(b'{"ok":true,"result":{"message_id":77}}'),
        answer(
            b'{"ok":false,"error_code":429,"parameters":{"retry_after":30}}',
            status="429 Too Many Requests",
        ),
        answer(b'{"ok":false,"error_code":403}', status="403 Forbidden"),
    ]
    sender = TelegramSender(client, settings)
    assert await sender.send(_message("42", "telegram"), now=now) == "77"
    with pytest.raises(SendError) as flood:
        await sender.send(_message("42", "telegram"), now=now)
    assert flood.value.retry_at == now + dt.timedelta(seconds=30)
    with pytest.raises(SendError) as blocked:
        await sender.send(_message("42", "telegram"), now=now)
    assert blocked.value.permanent
    head, body = upstream.requests[0]
    assert head.startswith(b"POST /bot123456:TEST-TOKEN/sendMessage HTTP/1.1")
    assert httpx.QueryParams(body.decode()) == httpx.QueryParams(chat_id="42", text="请记得签到")
    assert upstream.connections == 1


async def test_wechat_refreshes_a_rejected_token_and_reports_http_errors(
    client, upstream, settings, engine, now
):
    from bot.senders import SendError, WechatSender
    from bot.wechat_api import WechatApi

    settings.wechat.api_base_url = upstream.url
    token = b'{"access_token":"%s","expires_in":7200}'
    upstream.answers = [
        answer(token % b"OLD"),
        answer(b'{"errcode":40001,"errmsg":"invalid credential"}'),
        answer(token % b"NEW"),
        answer(b'{"errcode":0,"errmsg":"ok"}'),
        answer(b"", status="500 Internal Server Error"),
    ]
    sender = WechatSender(WechatApi(settings, engine, client), settings)
    recent = now - dt.timedelta(hours=1)
    assert await sender.send(_message("oOPENID", "wechat", last_inbound_at=recent), now=now) == ""
    sends = [h for h, _ in upstream.requests if b"/message/custom/send" in h]
    assert [h.split(b" ")[1].split(b"=")[1] for h in sends] == [b"OLD", b"NEW"]
    assert json.loads(upstream.requests[-1][1])["text"] == {"content": "请记得签到"}
    with pytest.raises(SendError, match="wechat HTTP 500"):
        await sender.send(_message("oOPENID", "wechat", last_inbound_at=recent), now=now)


async def test_transport_failures_become_retryable_send_errors(upstream, settings, engine, now):
    from bot.senders import SendError, TelegramSender, WechatSender
    from bot.wechat_api import WechatApi

    settings.telegram.api_base_url = "http://127.0.0.1:9"  # nobody listening
    settings.wechat.api_base_url = upstream.url
    upstream.answers = [upstream.held]
    async with PushClient(timeout=httpx.Timeout(2.0, read=0.05)) as http:
        with pytest.raises(SendError) as refused:
            await TelegramSender(http, settings).send(_message("42", "telegram"), now=now)
        wechat = WechatSender(WechatApi(settings, engine, http), settings)
        with pytest.raises(SendError) as timed_out:
            recent = now - dt.timedelta(hours=1)
            await wechat.send(_message("oOPENID", "wechat", last_inbound_at=recent), now=now)
    assert str(refused.value) == "telegram: ConnectError"
    assert str(timed_out.value) == "wechat: ReadTimeout"
    for error in (refused.value, timed_out.value):
        assert not error.permanent and error.retry_at is None  # the outbox backs off and retries
