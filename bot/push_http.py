"""The HTTP client the outbox pushes with: one aiohttp session over kept-alive connections.

Through httpx a push cost several times the rest of its delivery (its pool checks every idle
connection on each request); aiohttp parses in C and keeps its pool cheap (about 0.15 ms of
CPU per push against a local upstream, 32 in flight). The senders call
`post_bytes`, which takes a PushClient or any httpx client (the tests mock httpx with respx)
and raises httpx's exception types for both, so callers classify failures one way.
"""

from __future__ import annotations

import functools
import ssl
import urllib.request

import aiohttp
import httpx

__all__ = ["PushClient", "PushHttp", "post_bytes"]

# Idle connections are closed after this long (servers drop them soon after anyway).
KEEPALIVE_S = 5.0
# As the earlier client sent them: replies are small JSON, not worth compressing.
HEADERS = {"Accept-Encoding": "identity", "User-Agent": "shixi"}

# aiohttp's errors as the httpx errors the senders catch; the first match wins.
ERRORS: tuple[tuple[type[BaseException], type[httpx.HTTPError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),  # or no free connection in time
    (TimeoutError, httpx.ReadTimeout),  # SocketTimeoutError among them
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # DNS, refused, TLS, certificate
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),  # body cut short or malformed
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # a malformed response head
    (aiohttp.ClientOSError, httpx.NetworkError),  # e.g. reset while sending or reading
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
)


def _as_httpx(exc: BaseException) -> httpx.HTTPError:
    kind = next((ours for theirs, ours in ERRORS if isinstance(exc, theirs)), httpx.TransportError)
    # Most aiohttp messages quote the URL, and so the bot token or access token: name the
    # error only. A connector error names just host and port and says why it failed.
    text = str(exc) if isinstance(exc, aiohttp.ClientConnectorError) else type(exc).__name__
    return kind(text)


@functools.cache
def _certifi_context() -> ssl.SSLContext:
    """certifi's CAs, as httpx trusted them, rather than whatever the system has; loaded once."""
    return httpx.create_ssl_context()


def _proxy_in_env() -> bool:
    return any(k in urllib.request.getproxies() for k in ("http", "https"))


class PushClient:
    """At most `max_connections` open at once, idle ones reused; an async context manager.

    Timeouts as httpx's: `connect` to open a connection, `pool` to get one (waiting for a
    free one included), `read` between bytes of the answer; aiohttp has no write timeout.
    Proxies come from HTTP_PROXY / HTTPS_PROXY / NO_PROXY, read when the session opens.
    """

    def __init__(
        self,
        *,
        timeout: httpx.Timeout | float,
        max_connections: int = 64,
        verify: ssl.SSLContext | None = None,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
    ):
        self.timeout = httpx.Timeout(timeout)
        self.max_connections = max_connections
        self.verify = verify
        self.trace_configs = trace_configs  # aiohttp's request hooks (tests watch the pool)
        self._session: aiohttp.ClientSession | None = None

    def _session_opened(self) -> aiohttp.ClientSession:
        """The session, opened on first use (it must be made inside the running loop)."""
        if self._session is None:
            self._session = self._open()
        return self._session

    def _open(self) -> aiohttp.ClientSession:
        t = self.timeout
        connector = aiohttp.TCPConnector(
            limit=self.max_connections,
            keepalive_timeout=KEEPALIVE_S,
            ssl=self.verify or _certifi_context(),
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(connect=t.pool, sock_connect=t.connect, sock_read=t.read),
            headers=HEADERS,
            cookie_jar=aiohttp.DummyCookieJar(),
            trace_configs=self.trace_configs,
            # trust_env costs two thread hops per request (proxy and .netrc look-ups): only
            # when a proxy is configured.
            trust_env=_proxy_in_env(),
        )

    async def post(self, url: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        """(status, body) of a POST; redirects are not followed. Failures raise httpx errors."""
        try:
            async with self._session_opened().post(
                url, data=body, headers={"Content-Type": content_type}, allow_redirects=False
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _as_httpx(exc) from None

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def __aenter__(self) -> PushClient:
        self._session_opened()  # proxy variables are read now, once
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()


PushHttp = PushClient | httpx.AsyncClient


async def post_bytes(
    client: PushHttp, url: str, body: bytes, content_type: str
) -> tuple[int, bytes]:
    """POST `body` to an absolute URL; (status, response body). Failures raise httpx errors."""
    if isinstance(client, PushClient):
        return await client.post(url, body, content_type)
    response = await client.post(url, content=body, headers={"Content-Type": content_type})
    return response.status_code, response.content
