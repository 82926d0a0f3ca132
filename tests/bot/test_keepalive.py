"""The keep-alive HTTP/1.1 transport the outbox pushes with, against a scripted loopback server."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import ipaddress
import json
import ssl

import httpx
import pytest

from bot.keepalive import KeepAliveClient, KeepAliveTransport, http_client, post_bytes

FORM = "application/x-www-form-urlencoded"
CLOSE = object()  # an answer: close the connection without a word


def answer(body: bytes = b'{"ok":true}', *, status: str = "200 OK", headers: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{headers}\r\n"
    ).encode() + body


class Upstream:
    """Reads whole requests; answers each with the next scripted item (bytes, CLOSE, or a
    coroutine function given the writer); counts connections."""

    def __init__(self) -> None:
        self.answers: list = []
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self.url = ""

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


@pytest.fixture
async def upstream():
    up = Upstream()
    server = await asyncio.start_server(up.handle, "127.0.0.1", 0)
    up.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    yield up
    server.close()


@pytest.fixture
async def client():
    async with KeepAliveClient(timeout=httpx.Timeout(2.0), max_connections=4) as http:
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


async def test_a_chunked_answer_split_across_writes_is_joined(client, upstream):
    async def chunked(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel")
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(b"lo\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")

    upstream.answers = [chunked, answer(b"again")]
    assert await post(client, upstream) == (200, b"hello world")
    assert await post(client, upstream) == (200, b"again")
    assert upstream.connections == 1


async def test_an_answer_without_length_ends_when_the_server_closes(client, upstream):
    async def and_close(writer):
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
        writer.close()

    upstream.answers = [and_close]
    assert await post(client, upstream) == (200, b"until the end")
    assert await post(client, upstream) == (200, b'{"ok":true}')
    assert upstream.connections == 2


@pytest.mark.parametrize(
    "first",
    [
        answer(headers="Connection: close\r\n"),
        b'HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\n{"ok":true}',
        answer() + b"HTTP/1.1 200 OK\r\n",  # bytes nobody asked for
    ],
)
async def test_a_connection_the_answer_does_not_leave_reusable_is_replaced(client, upstream, first):
    upstream.answers = [first]
    assert await post(client, upstream) == (200, b'{"ok":true}')
    assert await post(client, upstream) == (200, b'{"ok":true}')
    assert upstream.connections == 2


async def test_a_request_the_server_hangs_up_on_fails_and_the_next_one_reconnects(client, upstream):
    upstream.answers = [answer(), CLOSE]
    assert await post(client, upstream) == (200, b'{"ok":true}')
    with pytest.raises(httpx.RemoteProtocolError):
        await post(client, upstream)
    assert await post(client, upstream) == (200, b'{"ok":true}')
    assert upstream.connections == 2


async def test_a_connection_closed_while_idle_is_dropped_before_reuse(upstream):
    async with KeepAliveClient(timeout=2.0, max_connections=2) as http:
        assert await post(http, upstream) == (200, b'{"ok":true}')
        (conn,) = http.keepalive._idle[("http", "127.0.0.1", int(upstream.url.rsplit(":", 1)[1]))]
        conn.transport.abort()  # as when the server times the idle connection out
        await asyncio.sleep(0.01)
        assert await post(http, upstream) == (200, b'{"ok":true}')
    assert upstream.connections == 2


async def test_idle_connections_expire(upstream):
    async with httpx.AsyncClient(transport=KeepAliveTransport(keepalive_expiry=0.0)) as http:
        for _ in range(2):
            assert (await http.post(upstream.url, content=b"x")).status_code == 200
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


async def test_no_answer_within_the_read_timeout_is_a_read_timeout(upstream):
    async def never(writer):
        await asyncio.sleep(1)

    upstream.answers = [never]
    async with KeepAliveClient(timeout=httpx.Timeout(5.0, read=0.05), max_connections=2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await post(http, upstream)
        assert await post(http, upstream) == (200, b'{"ok":true}')  # on a new connection


async def test_nobody_listening_is_a_connect_error(client, upstream):
    with pytest.raises(httpx.ConnectError):
        await post_bytes(client, "http://127.0.0.1:9/", b"", FORM)


@pytest.mark.parametrize(
    "garbage",
    [b"SPDY/3 200 OK\r\n\r\n", b"HTTP/1.1 2x0 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\n bad\r\n\r\n"],
)
async def test_a_malformed_answer_is_a_protocol_error(client, upstream, garbage):
    upstream.answers = [garbage]
    with pytest.raises(httpx.RemoteProtocolError):
        await post(client, upstream)


async def test_an_interim_answer_is_skipped(client, upstream):
    upstream.answers = [b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"final")]
    assert await post(client, upstream) == (200, b"final")


async def test_a_compressed_answer_is_decoded(client, upstream):
    packed = gzip.compress(b'{"ok":true}')
    upstream.answers = [answer(packed, headers="Content-Encoding: gzip\r\n")] * 2
    assert await post(client, upstream) == (200, b'{"ok":true}')
    assert (await client.post(upstream.url, content=b"x")).json() == {"ok": True}


async def test_httpx_requests_go_through_the_same_connections(client, upstream):
    upstream.answers = [answer(b'{"a":1}', status="404 Not Found"), answer(b"")]
    response = await client.post(upstream.url + "/p", params={"access_token": "T"}, json={"x": 1})
    assert response.status_code == 404 and response.json() == {"a": 1}
    assert (await client.head(upstream.url)).status_code == 200
    assert upstream.connections == 1
    head, body = upstream.requests[0]
    assert head.startswith(b"POST /p?access_token=T HTTP/1.1\r\n") and json.loads(body) == {"x": 1}


async def test_at_most_max_connections_are_open_at_once(upstream):
    async def slow(writer):
        await asyncio.sleep(0.05)
        writer.write(answer())

    upstream.answers = [slow] * 12
    async with KeepAliveClient(timeout=2.0, max_connections=3) as http:
        results = await asyncio.gather(*(post(http, upstream) for _ in range(12)))
    assert results == [(200, b'{"ok":true}')] * 12
    assert upstream.connections == 3


async def test_waiting_longer_than_the_pool_timeout_for_a_connection_fails(upstream):
    async def slow(writer):
        await asyncio.sleep(0.3)
        writer.write(answer())

    upstream.answers = [slow]
    timeout = httpx.Timeout(2.0, pool=0.05)
    async with KeepAliveClient(timeout=timeout, max_connections=1) as http:
        first = asyncio.create_task(post(http, upstream))
        await asyncio.sleep(0.01)
        with pytest.raises(httpx.PoolTimeout):
            await post(http, upstream)
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
    server = await asyncio.start_server(up.handle, "127.0.0.1", 0, ssl=server_context)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/send"
    try:
        trusting = KeepAliveTransport(verify=ssl.create_default_context(cafile=cert))
        async with httpx.AsyncClient(transport=trusting) as http:
            for _ in range(2):
                assert (await http.post(url, content=b"x")).json() == {"ok": True}
        assert up.connections == 1
        async with KeepAliveClient(timeout=2.0, max_connections=1) as http:  # system CAs only
            with pytest.raises(httpx.ConnectError):
                await post_bytes(http, url, b"x", FORM)
    finally:
        server.close()


def test_behind_a_proxy_the_client_is_httpx_own(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.edu.cn:3128")
    assert type(http_client(timeout=5.0)) is httpx.AsyncClient
    monkeypatch.delenv("HTTPS_PROXY")
    for name in ("HTTP_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(http_client(timeout=5.0), KeepAliveClient)


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
