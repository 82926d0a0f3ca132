"""A lean HTTP/1.1 keep-alive client for the outbox's pushes.

Through httpx, a push cost several times the rest of its delivery: httpcore's pool checks every
pooled connection with a poll() and a getpeername() on each request (`has_expired`), reads and
writes go through anyio streams and h11, and the client builds, merges and logs a Request and a
Response. Pushes are small POSTs to two hosts, so this transport keeps a stack of idle
connections per origin, writes each request with one write() and parses the response in the
protocol's data_received. It serves httpx requests too (`KeepAliveClient` is an httpx client),
but the senders call `post_bytes`, which skips the request and response objects.

Out of scope: HTTP/2, proxies (`http_client` falls back to httpx's own transport when proxy
variables are set), upgrades, request bodies streamed in parts. A connection is reused only
after a complete keep-alive response with nothing unread behind it.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
import urllib.parse
import urllib.request
import zlib

import httpx

__all__ = ["KeepAliveClient", "KeepAliveTransport", "http_client", "post_bytes"]

HEAD_LIMIT = 64 * 1024  # a response head larger than this is refused
DEFAULT_PORTS = {"http": 80, "https": 443}
NO_BODY = {204, 304}


class _Response:
    """A parsed response: status, raw headers, body; `reusable` when the connection may stay."""

    __slots__ = ("body", "headers", "reusable", "status")

    def __init__(self, status: int, headers: list, body: bytes, reusable: bool):
        self.status, self.headers, self.body, self.reusable = status, headers, body, reusable


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; at most one request on it at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.head_request = False
        self.closed = False
        self.idle_since = 0.0
        self._head: tuple | None = None  # (status, headers, body start, framing, length, keep)
        self._chunks: list[bytes] = []
        self._pos = 0  # where the next chunk-size line starts (chunked framing)

    # --- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return  # bytes nobody asked for: the connection is not reused (see usable)
        try:
            response = self._parse()
        except httpx.RemoteProtocolError as exc:
            self.waiter.set_exception(exc)
            return
        if response is not None:
            self.waiter.set_result(response)

    def eof_received(self) -> bool:
        self._end(None)
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._end(exc)

    # --- a request ---------------------------------------------------------------------------

    def usable(self, now: float, expiry: float) -> bool:
        """Idle, open, with nothing unread, and not idle for longer than `expiry` seconds."""
        stale = self.closed or self.buffer or now - self.idle_since > expiry
        if stale and not self.closed:
            self.close()
        return not stale

    async def exchange(self, data: bytes, *, head_request: bool, timeout: float | None):
        """Send one request and wait for its whole response."""
        if self.closed:  # the server hung up before the request went out
            raise httpx.RemoteProtocolError("server disconnected before the request")
        self.waiter = asyncio.get_running_loop().create_future()
        self.head_request = head_request
        self._head, self._chunks, self._pos = None, [], 0
        self.transport.write(data)
        try:
            async with asyncio.timeout(timeout):
                return await self.waiter
        except TimeoutError:
            raise httpx.ReadTimeout("no response within the read timeout") from None
        finally:
            self.waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # --- parsing -----------------------------------------------------------------------------

    def _parse(self) -> _Response | None:
        """The response once the buffer holds all of it; None while more bytes are due."""
        if self._head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > HEAD_LIMIT:
                    raise httpx.RemoteProtocolError("response head too large")
                return None
            head = _parse_head(bytes(self.buffer[:end]), self.head_request)
            if head is None:  # an interim 1xx response: skip it
                del self.buffer[: end + 4]
                return self._parse()
            self._head = (*head[:2], end + 4, *head[2:])
            self._pos = end + 4
        status, headers, start, framing, length, keep = self._head
        if framing == "length":
            if len(self.buffer) - start < length:
                return None
            body = bytes(self.buffer[start : start + length])
            if len(self.buffer) > start + length:
                keep = False  # more than we were sent: do not trust the connection again
            self.buffer.clear()
            return _Response(status, headers, body, keep)
        if framing == "chunked":
            end = self._read_chunks()
            if end is None:
                return None
            if len(self.buffer) > end:
                keep = False
            self.buffer.clear()
            return _Response(status, headers, b"".join(self._chunks), keep)
        return None  # read until the server closes: see _end

    def _read_chunks(self) -> int | None:
        """Consume complete chunks; where the message ends once the last chunk is in."""
        buf = self.buffer
        while True:
            eol = buf.find(b"\r\n", self._pos)
            if eol < 0:
                return None
            size_text = bytes(buf[self._pos : eol]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise httpx.RemoteProtocolError("malformed chunk size") from None
            if size == 0:  # then trailer lines (ignored) up to an empty line
                end = buf.find(b"\r\n\r\n", eol)
                return None if end < 0 else end + 4
            data_start, data_end = eol + 2, eol + 2 + size
            if len(buf) < data_end + 2:
                return None
            if buf[data_end : data_end + 2] != b"\r\n":
                raise httpx.RemoteProtocolError("malformed chunk")
            self._chunks.append(bytes(buf[data_start:data_end]))
            self._pos = data_end + 2

    def _end(self, exc: Exception | None) -> None:
        """The server closed: that completes a close-delimited body, and fails anything else."""
        if self.waiter is None or self.waiter.done():
            return
        if self._head is not None and self._head[3] == "close":
            status, headers, start = self._head[:3]
            self.waiter.set_result(_Response(status, headers, bytes(self.buffer[start:]), False))
            return
        error = httpx.RemoteProtocolError("server disconnected without a complete response")
        if exc is not None:
            error.__cause__ = exc
        self.waiter.set_exception(error)


def _parse_head(head: bytes, head_request: bool):
    """(status, headers, framing, length, keep-alive) of a response head; None for a 1xx."""
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or not rest[:3].isdigit():
        raise httpx.RemoteProtocolError("malformed status line")
    status = int(rest[:3])
    if 100 <= status < 200:
        if status == 101:
            raise httpx.RemoteProtocolError("unexpected protocol switch")
        return None
    headers, length, chunked, encoded, connection = [], None, False, False, b""
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise httpx.RemoteProtocolError("malformed header line")
        value = value.strip()
        headers.append((name, value))
        key = name.lower()
        if key == b"content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise httpx.RemoteProtocolError("bad Content-Length")
            length = int(value)
        elif key == b"transfer-encoding":
            encoded = True
            chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
        elif key == b"connection":
            connection += b"," + value.lower()
    tokens = {t.strip() for t in connection.split(b",")}
    keep = b"close" not in tokens if version == b"HTTP/1.1" else b"keep-alive" in tokens
    if head_request or status in NO_BODY:
        return status, headers, "length", 0, keep
    if encoded:
        return status, headers, ("chunked" if chunked else "close"), 0, keep and chunked
    if length is not None:
        return status, headers, "length", length, keep
    return status, headers, "close", 0, False


LEAN_HEADERS = b"Accept: */*\r\nAccept-Encoding: identity\r\nUser-Agent: shixi\r\n"


@functools.lru_cache(maxsize=64)
def _split(url: str):
    """(origin, Host header, request target) of an absolute http(s) URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise httpx.UnsupportedProtocol(f"not an absolute http(s) URL: {parts.scheme}://...")
    origin = (parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme])
    host = parts.netloc.rpartition("@")[2]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return origin, host.encode("ascii"), target.encode("ascii")


def _decoded(headers: list, body: bytes) -> bytes:
    """The body without its Content-Encoding (we ask for none, but a server may still send one)."""
    coding = next((v.lower() for k, v in headers if k.lower() == b"content-encoding"), b"identity")
    if coding == b"identity":
        return body
    if coding in (b"gzip", b"x-gzip", b"deflate"):
        try:
            return zlib.decompress(body, wbits=47)  # gzip or zlib framing, whichever it is
        except zlib.error as exc:
            raise httpx.DecodingError(f"bad {coding.decode()} body: {exc}") from None
    raise httpx.DecodingError(f"unsupported Content-Encoding {coding.decode()}")


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    """The request line, headers and body in one buffer (one write, one TCP segment)."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
    has_length = False
    for name, value in request.headers.raw:
        if b"\r" in value or b"\n" in value:
            raise httpx.LocalProtocolError("illegal header value")
        key = name.lower()
        if key == b"transfer-encoding":
            continue  # the body is always sent whole, with a Content-Length
        has_length = has_length or key == b"content-length"
        lines.append(name + b": " + value)
    if not has_length and (body or request.method not in ("GET", "HEAD")):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with a stack of idle connections per origin; `max_connections` at once."""

    def __init__(
        self,
        *,
        max_connections: int = 64,
        keepalive_expiry: float = 5.0,
        verify: ssl.SSLContext | bool = True,
    ):
        self.keepalive_expiry = keepalive_expiry
        self._gate = asyncio.Semaphore(max_connections)
        self._idle: dict[tuple, list[_Connection]] = {}
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port or DEFAULT_PORTS.get(url.scheme, 80))
        data = _request_bytes(request, await request.aread())
        timeouts = request.extensions.get("timeout", {})
        response = await self._round_trip(origin, data, request.method == "HEAD", timeouts)
        return httpx.Response(
            response.status,
            headers=response.headers,
            stream=httpx.ByteStream(response.body),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def post(self, url: str, body: bytes, content_type: str, timeout: httpx.Timeout):
        """(status, body) of a POST, without building httpx requests and responses."""
        origin, host, target = _split(url)
        data = (
            b"POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (target, host, LEAN_HEADERS, content_type.encode(), len(body))
            + body
        )
        response = await self._round_trip(origin, data, False, timeout.as_dict())
        return response.status, _decoded(response.headers, response.body)

    async def _round_trip(self, origin, data: bytes, head_request: bool, timeouts: dict):
        if self._gate.locked():
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await self._gate.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout("no connection free within the pool timeout") from None
        else:
            await self._gate.acquire()
        try:
            conn = self._checkout(origin) or await self._connect(origin, timeouts.get("connect"))
            try:
                response = await conn.exchange(
                    data, head_request=head_request, timeout=timeouts.get("read")
                )
            except BaseException:
                conn.close()
                raise
            if response.reusable and not conn.closed and not self._closed:
                conn.idle_since = time.monotonic()
                self._idle.setdefault(origin, []).append(conn)
            else:
                conn.close()
        finally:
            self._gate.release()
        return response

    def _checkout(self, origin) -> _Connection | None:
        """The most recently used idle connection that is still good, closing stale ones."""
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(now, self.keepalive_expiry):
                return conn
        return None

    async def _connect(self, origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = (
                    self._verify
                    if isinstance(self._verify, ssl.SSLContext)
                    else httpx.create_ssl_context(verify=self._verify)
                )
            context = self._ssl
        elif scheme != "http":
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    _Connection, host, port, ssl=context, server_hostname=host if context else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"could not connect to {host} in time") from None
        except OSError as exc:
            raise httpx.ConnectError(f"could not connect to {host}: {exc}") from None
        return conn

    async def aclose(self) -> None:
        self._closed = True  # connections still busy are closed when their response is in
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


class KeepAliveClient(httpx.AsyncClient):
    """An httpx client on a KeepAliveTransport; `post_bytes` skips httpx's request machinery."""

    def __init__(self, *, timeout: httpx.Timeout | float, max_connections: int):
        self.keepalive = KeepAliveTransport(max_connections=max_connections)
        super().__init__(timeout=timeout, transport=self.keepalive)


async def post_bytes(
    client: httpx.AsyncClient, url: str, body: bytes, content_type: str
) -> tuple[int, bytes]:
    """POST `body` to an absolute URL; (status, response body). Failures raise httpx errors.

    Any httpx client works (tests hand in ones mocked with respx); a KeepAliveClient is
    several times cheaper per request.
    """
    if isinstance(client, KeepAliveClient):
        return await client.keepalive.post(url, body, content_type, client.timeout)
    response = await client.post(url, content=body, headers={"Content-Type": content_type})
    return response.status_code, response.content


def http_client(*, timeout: httpx.Timeout | float, max_connections: int = 64) -> httpx.AsyncClient:
    """A keep-alive client, or httpx's own when proxy variables are set (it honours them)."""
    if any(k in urllib.request.getproxies() for k in ("http", "https", "all")):
        return httpx.AsyncClient(timeout=timeout)
    return KeepAliveClient(timeout=timeout, max_connections=max_connections)
