"""WeChat callbacks as WeChat's servers send them: safe mode (AES), signed, one raw HTTP request.

Used by the webhook bench and by the crash test: each callback keeps its MsgId, timestamp and
nonce, so a retry re-sends exactly the same bytes, as WeChat does (its retries repeat the
request: same MsgId, same timestamp, nonce and signature).
"""

from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import dataclass
from urllib.parse import urlencode

TOKEN = "benchtoken"
APP_ID = "wxbench0000000001"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
# A Guiyang workplace (GCJ-02); bench students stand 40 m north of it.
SITE = (26.5783, 106.7135)
NEAR_SITE = (SITE[0] + 40 / 111320.0, SITE[1])
MSG_ID_BASE = 7_000_000_000_000_000
# One MsgId sequence per process, started from the clock: callbacks from every Crafter of a run,
# and of later runs against the same database, never share an id (a shared id is a retry).
_MSG_IDS = itertools.count(MSG_ID_BASE + time.time_ns() // 1_000_000 % 10**12 * 1000)


def _sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


@dataclass(frozen=True)
class Callback:
    """One signed callback: the query string and the safe-mode body WeChat would POST."""

    openid: str
    msg_id: int
    query: str
    body: str

    @property
    def dedup_key(self) -> str:
        """What the server dedupes a message by (WeChat's advice: the MsgId)."""
        return f"msg:{self.msg_id}"

    def raw(self, host: str) -> str:
        """The whole HTTP/1.1 request, for wrk and bench.loadgen."""
        size = len(self.body.encode())
        return (
            f"POST /wechat?{self.query} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {size}\r\n\r\n{self.body}"
        )


class Crafter:
    """Builds callbacks with unique MsgIds and nonces; the timestamp is taken when built."""

    def __init__(self, token: str = TOKEN, aes_key: str = AES_KEY, app_id: str = APP_ID):
        from wechatpy.crypto import WeChatCrypto

        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id)

    def text(self, openid: str, content: str) -> Callback:
        return self._seal(
            openid,
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>",
        )

    def location(self, openid: str, lat: float = NEAR_SITE[0], lng: float = NEAR_SITE[1]):
        return self._seal(
            openid,
            "<MsgType><![CDATA[location]]></MsgType>"
            f"<Location_X>{lat:.6f}</Location_X><Location_Y>{lng:.6f}</Location_Y>"
            "<Scale>15</Scale><Label><![CDATA[贵阳市观山湖区]]></Label>",
        )

    def _seal(self, openid: str, fields: str) -> Callback:
        msg_id = next(_MSG_IDS)
        stamp, nonce = str(int(time.time())), f"n{msg_id % 10**10:010d}"
        xml = (
            f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{stamp}</CreateTime>{fields}<MsgId>{msg_id}</MsgId></xml>"
        )
        sealed = self.crypto.encrypt_message(xml, nonce, stamp)
        encrypted = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        query = urlencode(
            dict(
                signature=_sign(self.token, stamp, nonce),
                timestamp=stamp,
                nonce=nonce,
                openid=openid,
                encrypt_type="aes",
                msg_signature=_sign(self.token, stamp, nonce, encrypted),
            )
        )
        body = (
            "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )
        return Callback(openid=openid, msg_id=msg_id, query=query, body=body)
