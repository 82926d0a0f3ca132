"""WeChat's message encryption (safe mode), lean: one AES key schedule, no per-call objects.

The same wire format as wechatpy's PrpCrypto (which the tests use to check it): AES-256-CBC
with the IV = the key's first 16 bytes, PKCS#7 padding to 32-byte blocks, and a plaintext of
16 random bytes + the message length (4 bytes, big-endian) + the message + the app id.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
ENVELOPE = (
    "<xml>\n<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n"
    "<MsgSignature><![CDATA[{signature}]]></MsgSignature>\n"
    "<TimeStamp>{timestamp}</TimeStamp>\n<Nonce><![CDATA[{nonce}]]></Nonce>\n</xml>"
)
TEXT_REPLY = (
    "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<ToUserName><![CDATA[{to}]]></ToUserName>\n"
    "<FromUserName><![CDATA[{source}]]></FromUserName>\n<CreateTime>{time}</CreateTime>\n"
    "<Content><![CDATA[{content}]]></Content>\n</xml>"
)


def cdata(text: str) -> str:
    """Text safe inside <![CDATA[...]]> (a literal ']]>' is split across two sections)."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def text_reply(*, to: str, source: str, content: str, at: int | None = None) -> str:
    """A passive text reply as WeChat expects it (what wechatpy's TextReply renders)."""
    return TEXT_REPLY.format(
        to=cdata(to), source=cdata(source), time=at or int(time.time()), content=cdata(content)
    )


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _nonce() -> bytes:
    """The 16 random characters WeChat's format starts with: padding, not a secret (wechatpy
    uses `random` too); os.urandom would drop the GIL and wait behind the writer thread."""
    return random.getrandbits(64).to_bytes(8, "big").hex().encode()


class MessageCipher:
    """Decrypts callbacks and encrypts replies for one official account."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str):
        key = base64.b64decode(encoding_aes_key + "=")
        if len(key) != 32:
            raise ValueError("encoding_aes_key must be 43 characters of base64 (a 32-byte key)")
        self.token = token
        self.app_id = app_id.encode()
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def decrypt(self, encrypted: str) -> str:
        """The message inside `Encrypt`; ValueError when it is not for this account."""
        raw = base64.b64decode(encrypted, validate=True)
        if not raw or len(raw) % 16:
            raise ValueError("ciphertext is not whole AES blocks")
        decryptor = self._cipher.decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK:
            raise ValueError("bad padding")
        content = plain[16:-pad]
        length = int.from_bytes(content[:4], "big")
        if content[4 + length :] != self.app_id:
            raise ValueError("message is for another app id")
        return content[4 : 4 + length].decode()

    def encrypt(self, text: str) -> str:
        body = text.encode()
        plain = b"".join((_nonce(), len(body).to_bytes(4, "big"), body, self.app_id))
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._cipher.encryptor()
        raw = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        return base64.b64encode(raw).decode()

    def seal(self, xml: str, *, nonce: str, timestamp: str) -> str:
        """The encrypted, signed envelope of a reply."""
        encrypt = self.encrypt(xml)
        sig = signature(self.token, timestamp, nonce, encrypt)
        return ENVELOPE.format(encrypt=encrypt, signature=sig, timestamp=timestamp, nonce=nonce)
