"""Crafting callbacks as WeChat's servers do (wechatpy's WeChatCrypto), and opening replies."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path

from defusedxml.ElementTree import fromstring
from wechatpy.crypto import WeChatCrypto

from bot.wechat import sign
from core.settings import Settings

FIXTURES = Path(__file__).parent.parent / "fixtures" / "wechat"
OPENID = "oW3Xk5t9nYpQ2rLmZ8vB1cD4eF6g"


def fixture(name: str, **replace: str) -> str:
    """A recorded payload, with e.g. MsgId="..." swapped in."""
    xml = (FIXTURES / name).read_text()
    for tag, value in replace.items():
        xml = re.sub(rf"<{tag}>.*?</{tag}>", f"<{tag}><![CDATA[{value}]]></{tag}>", xml, flags=re.S)
    return xml


def crypto(settings: Settings) -> WeChatCrypto:
    cfg = settings.wechat
    return WeChatCrypto(cfg.token, cfg.encoding_aes_key, cfg.app_id)


def craft(
    settings: Settings,
    xml: str,
    *,
    at: datetime,
    mode: str | None = None,
    nonce: str | None = None,
) -> tuple[dict, bytes]:
    """(query params, body) of a callback in plain, compat(ible) or safe mode.

    The mode defaults to the account's: compatible when it has an encoding_aes_key (plaintext
    callbacks are then refused), else plain. Each message gets its own nonce unless one is
    given, as WeChat's does; the same message (a retry) gets the same one.
    """
    if mode is None:
        mode = "compat" if settings.wechat.encoding_aes_key else "plain"
    if nonce is None:
        nonce = str(int(hashlib.sha1(xml.encode()).hexdigest()[:12], 16) % 10**10)
    ts = str(int(at.timestamp()))
    params = {
        "signature": sign(settings.wechat.token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "openid": OPENID,
    }
    if mode == "plain":
        return params, xml.encode()
    sealed = crypto(settings).encrypt_message(xml, nonce, ts)
    encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", sealed).group(1)
    params |= {
        "encrypt_type": "aes",
        "msg_signature": sign(settings.wechat.token, ts, nonce, encrypted),
    }
    if mode == "safe":
        body = (
            "<xml><ToUserName><![CDATA[gh_3f2a1b9c8d7e]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )
    else:  # compatible: the plaintext message with the ciphertext added
        body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>\n</xml>")
    return params, body.encode()


def reply_fields(text: str) -> dict[str, str]:
    root = fromstring(text)
    return {child.tag: child.text or "" for child in root}


def open_reply(settings: Settings, body: str) -> dict[str, str]:
    """The fields of a passive reply, decrypting and checking it when it is sealed."""
    outer = reply_fields(body)
    if "Encrypt" not in outer:
        return outer
    inner = crypto(settings).decrypt_message(
        body, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"]
    )
    return reply_fields(inner)
