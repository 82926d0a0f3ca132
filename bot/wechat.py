"""WeChat callbacks on the wire: signatures, AES (wechatpy), defused XML, Inbound, replies."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from datetime import datetime
from xml.etree import ElementTree
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy import parse_message

from bot.types import Inbound, Location
from bot.wechat_crypto import MessageCipher, text_reply
from core.settings import Settings

# Menu CLICK keys (published by `shixi wechat menu`) and the (intent, text) each stands for.
CLICK_KEYS: dict[str, tuple[str, str]] = {
    "CHECKIN": ("checkin", ""),
    "JOURNAL_DAILY": ("journal", "日报"),
    "JOURNAL_WEEKLY": ("journal", "周记"),
    "JOURNAL_MONTHLY": ("journal", "月报"),
    "JOURNAL_SUMMARY": ("journal", "总结"),
    "REPORT": ("report", ""),
    "STATUS": ("status", ""),
    "MAKEUP": ("makeup", ""),
    "HELP": ("help", ""),
    # Other roles' menus (bot.menus).
    "TODAY": ("today", ""),
    "TODO": ("todo", ""),
    "GRADE": ("grade", ""),
    "LEAVE": ("leave", ""),
}

# WeChat allows at most three top-level buttons, so 维权 and 我的 share the third.
MENU = {
    "button": [
        {"type": "location_select", "name": "签到", "key": "CHECKIN"},
        {
            "name": "写日志",
            "sub_button": [
                {"type": "click", "name": "日报", "key": "JOURNAL_DAILY"},
                {"type": "click", "name": "周记", "key": "JOURNAL_WEEKLY"},
                {"type": "click", "name": "月报", "key": "JOURNAL_MONTHLY"},
                {"type": "click", "name": "总结", "key": "JOURNAL_SUMMARY"},
            ],
        },
        {
            "name": "我的",
            "sub_button": [
                {"type": "click", "name": "维权求助", "key": "REPORT"},
                {"type": "click", "name": "我的状态", "key": "STATUS"},
                {"type": "click", "name": "补卡申请", "key": "MAKEUP"},
                {"type": "click", "name": "使用帮助", "key": "HELP"},
            ],
        },
    ]
}


def menu_for(settings: Settings) -> dict:
    """The menu to publish: with a public address, 签到 is a click answered with the link to
    the check-in page (the phone's own position, SPEC 11); without one it opens the map picker."""
    if not settings.server.public_url:
        return MENU
    first = {"type": "click", "name": "签到", "key": "CHECKIN"}
    return {"button": [first, *MENU["button"][1:]]}


# Events that need no answer of their own (a location message follows a location_select).
SILENT_EVENTS = {"location_select", "view", "templatesendjobfinish", "masssendjobfinish"}


class WechatRejected(Exception):
    """A callback refused before handling; `status` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def sign(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted parts concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _check(expected: str, given: str | None) -> None:
    if not given:
        raise WechatRejected(401, "missing signature")
    # compare_digest refuses non-ASCII text (TypeError): such a signature is simply wrong.
    if not given.isascii() or not hmac.compare_digest(expected, given.lower()):
        raise WechatRejected(403, "bad signature")


# A Unix time in seconds: ASCII digits only ("²".isdigit() is true, int("²") fails).
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# WeChat's nonces are short digit strings; anything long or unprintable is not from WeChat.
_NONCE = re.compile(r"[!-~]{1,64}")


def _without_prolog(text: str | bytes) -> bool:
    """True when the document opens with its <xml> root: no declaration, hence no DTD."""
    head = text[:64].lstrip()
    return head.startswith(b"<xml>" if isinstance(text, bytes) else "<xml>")


# WeChat's own documents are flat: <xml>, then children <Name>text</Name> or
# <Name><![CDATA[text]]></Name>, whitespace between them. One regular expression reads those at a
# fraction of a parser's cost (twice per callback). Whatever else, a declaration, an attribute,
# a nested element, an entity or character reference, a "\r" (which the parser would rewrite),
# or a character that XML forbids, goes to the parser below, which has the last word.
_CHAR = "\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff"  # not XML characters here (and "\r")
_CHILD = (
    rf"[ \t\r\n]*<(?P<tag>[A-Za-z_][A-Za-z0-9_]*)>"
    # CDATA: runs of anything but "]", each "]" that does not open the closing "]]>" between.
    rf"(?:<!\[CDATA\[([^\]{_CHAR}]*(?:\](?!\]>)[^\]{_CHAR}]*)*)\]\]>|([^<>&{_CHAR}]*))"
    rf"</(?P=tag)>"
)
_FLAT_DOCUMENT = re.compile(
    rf"[ \t\r\n]*<xml>(?P<children>(?:{_CHILD})*)[ \t\r\n]*</xml>[ \t\r\n]*"
)
_FLAT_CHILD = re.compile(_CHILD)


def _flat_fields(text: str | bytes) -> dict[str, str] | None:
    """xml_fields of a flat WeChat document, or None when it is not one."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    document = _FLAT_DOCUMENT.fullmatch(text)
    if document is None:
        return None
    children = _FLAT_CHILD.findall(document["children"])
    return {name: (cdata or plain).strip() for name, cdata, plain in children}


def xml_fields(text: str | bytes) -> dict[str, str]:
    """The child elements of a WeChat <xml> document; no DTD, no entities, no external refs."""
    fields = _flat_fields(text)
    if fields is not None:
        return fields
    try:
        if _without_prolog(text):
            # A DTD (and so any entity) can only come before the root element, and an
            # encoding other than UTF-8 needs a declaration: the C parser is safe here.
            root = ElementTree.fromstring(text)
        else:
            root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise WechatRejected(400, f"unacceptable XML: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise WechatRejected(400, "root element is not <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")


def _complete(fields: dict) -> dict:
    missing = [name for name in REQUIRED if not fields.get(name)]
    if missing:
        raise WechatRejected(400, "missing " + ", ".join(missing))
    if not _TIMESTAMP.fullmatch(fields["CreateTime"]):
        raise WechatRejected(400, "CreateTime is not a number")
    return fields


class WechatCodec:
    """Opens callbacks in plaintext, compatible and safe mode, and seals passive replies."""

    def __init__(self, settings: Settings):
        cfg = settings.wechat
        self.token = cfg.token
        self.app_id = cfg.app_id
        self.window_s = cfg.replay_window_s
        self.crypto = (
            MessageCipher(cfg.token, cfg.encoding_aes_key, cfg.app_id)
            if cfg.encoding_aes_key
            else None
        )

    def _fresh(self, params: dict, now: datetime) -> tuple[str, str]:
        timestamp, nonce = params.get("timestamp", ""), params.get("nonce", "")
        if not _TIMESTAMP.fullmatch(timestamp) or not _NONCE.fullmatch(nonce):
            raise WechatRejected(401, "missing timestamp or nonce")
        if abs(now.timestamp() - int(timestamp)) > self.window_s:
            raise WechatRejected(401, "timestamp outside the replay window")
        return timestamp, nonce

    def _decrypt(self, encrypted: str) -> str:
        if self.crypto is None:
            raise WechatRejected(400, "encrypted callback but no encoding_aes_key configured")
        try:
            return self.crypto.decrypt(encrypted)
        except Exception:  # bad base64, padding or app id: all mean "not from our account"
            raise WechatRejected(400, "cannot decrypt") from None

    def verify_url(self, params: dict, now: datetime) -> str:
        """The echostr to echo back, after checking the (msg_)signature."""
        timestamp, nonce = self._fresh(params, now)
        echostr = params.get("echostr", "")
        if params.get("msg_signature"):
            _check(sign(self.token, timestamp, nonce, echostr), params["msg_signature"])
            return self._decrypt(echostr)
        _check(sign(self.token, timestamp, nonce), params.get("signature"))
        return echostr

    def open(self, params: dict, body: bytes, now: datetime) -> tuple[str, dict, bool]:
        """Return (message XML, its fields, whether the reply must be encrypted).

        With an encoding_aes_key configured only encrypted callbacks (safe or compatible mode)
        are accepted: a plaintext callback's signature covers no byte of its body.
        """
        timestamp, nonce = self._fresh(params, now)
        outer = xml_fields(body)
        if params.get("encrypt_type", "raw").lower() == "aes":
            encrypted = outer.get("Encrypt", "")
            if not encrypted:
                raise WechatRejected(400, "missing Encrypt")
            _check(sign(self.token, timestamp, nonce, encrypted), params.get("msg_signature"))
            inner = self._decrypt(encrypted)
            # Compatible mode also carries the plaintext; its replies stay plaintext.
            return inner, _complete(xml_fields(inner)), "MsgType" not in outer
        _check(sign(self.token, timestamp, nonce), params.get("signature"))
        if self.crypto is not None:
            raise WechatRejected(403, "plaintext callback refused: the account is in safe mode")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WechatRejected(400, "body is not UTF-8") from None
        return text, _complete(outer), False

    @staticmethod
    def replay_key(params: dict, xml: str) -> dict:
        """The (timestamp, nonce) of an opened callback and its message's digest, for
        models.replay.claim_nonce: a pair is accepted once, a retry of the same message again."""
        return {
            "timestamp": int(params["timestamp"]),
            "nonce": params["nonce"],
            "digest": hashlib.sha256(xml.encode()).hexdigest(),
        }

    def seal(self, text: str, fields: dict, params: dict, encrypted: bool) -> str:
        """A passive text reply ('success' when there is nothing to say), encrypted if asked."""
        if not text:
            return "success"
        reply = text_reply(
            to=fields.get("FromUserName", ""), source=fields.get("ToUserName", ""), content=text
        )
        if not encrypted:
            return reply
        return self.crypto.seal(
            reply,
            nonce=params.get("nonce", ""),
            timestamp=params.get("timestamp") or str(int(time.time())),
        )


def dedup_key(fields: dict) -> str:
    """MsgId for messages; (FromUserName, CreateTime, Event) for events, which have no id."""
    if fields.get("MsgId"):
        return f"msg:{fields['MsgId']}"
    return f"evt:{fields.get('FromUserName', '')}:{fields.get('CreateTime', '')}:" + fields.get(
        "Event", ""
    )


def _float(value: str, what: str, limit: float = math.inf) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise WechatRejected(400, f"{what} is not a number") from None
    if not math.isfinite(number) or abs(number) > limit:  # nan, inf, 1e309, a latitude of 91
        raise WechatRejected(400, f"{what} is out of range")
    return number


def to_inbound(xml: str, fields: dict, *, at: datetime) -> Inbound:
    """Map a decoded callback to one Inbound (event names lower case, e.g. 'location')."""
    kind = (fields.get("MsgType") or "").lower()
    if kind == "location":  # the hot message: read straight from the fields already parsed
        base = dict(
            channel="wechat",
            user_id=fields["FromUserName"],
            at=at,
            message_id=fields.get("MsgId", ""),
        )
        point = Location(
            lat=_float(fields.get("Location_X"), "Location_X", 90),
            lng=_float(fields.get("Location_Y"), "Location_Y", 180),
            datum="gcj02",
            source="location",
            label=fields.get("Label", ""),
        )
        return Inbound(**base, kind="location", location=point, intent="checkin")
    if kind == "text":  # as hot: every command, journal part and report
        user = fields["FromUserName"]
        message_id = fields.get("MsgId", "")
        return Inbound(channel="wechat", user_id=user, at=at, message_id=message_id,
                       text=fields.get("Content") or "")  # fmt: skip
    try:
        msg = parse_message(xml)
    except Exception:  # already defused and checked; anything left is a malformed message
        raise WechatRejected(400, "malformed message") from None
    base = dict(channel="wechat", user_id=msg.source, at=at, message_id=fields.get("MsgId", ""))
    if kind == "voice":  # the account's speech recognition, when switched on
        return Inbound(**base, kind="voice", text=msg.recognition or "", media=msg.media_id)
    if kind == "image":
        return Inbound(**base, kind="image", media=msg.image or msg.media_id or "")
    if kind != "event":
        return Inbound(**base, kind=kind or "text")  # video, link ...: answered with help
    event = (fields.get("Event") or "").lower()
    ev = dict(base, kind="event", event=fields.get("Event", ""))  # as WeChat spells it: LOCATION
    if event in ("subscribe_scan", "scan"):  # parametric QR code carrying an invite code
        return Inbound(**ev, intent="bind", text=msg.scene_id or "")
    if event == "subscribe" and fields.get("EventKey", "").startswith("qrscene_"):
        return Inbound(**ev, intent="bind", text=fields["EventKey"].removeprefix("qrscene_"))
    if event == "subscribe":
        return Inbound(**ev, intent="help")
    if event == "location":
        point = Location(
            lat=_float(fields.get("Latitude"), "Latitude", 90),
            lng=_float(fields.get("Longitude"), "Longitude", 180),
            datum="gcj02",
            source="event",
            accuracy_m=_float(fields.get("Precision") or "0", "Precision"),
        )
        return Inbound(**ev, location=point)
    if event == "click":
        intent, text = CLICK_KEYS.get(fields.get("EventKey", ""), ("help", ""))
        return Inbound(**ev, intent=intent, text=text)
    return Inbound(**ev)
