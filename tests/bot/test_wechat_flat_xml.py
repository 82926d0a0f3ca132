"""xml_fields' fast path for flat documents reads what the XML parser reads, or steps aside."""

from __future__ import annotations

import random
from pathlib import Path
from xml.etree import ElementTree

import pytest

from bot.wechat import _flat_fields, xml_fields

FIXTURES = Path(__file__).parents[1] / "fixtures" / "wechat"


def _parsed(text: str | bytes) -> dict[str, str]:
    root = ElementTree.fromstring(text)
    return {child.tag: (child.text or "").strip() for child in root}


FLAT = ["location.xml", "text.xml", "event_location.xml", "voice.xml", "image.xml",
        "subscribe_qrscene.xml", "click_status.xml"]  # fmt: skip


@pytest.mark.parametrize("name", FLAT)
def test_wechat_fixtures_take_the_fast_path_with_the_parsers_answer(name):
    body = (FIXTURES / name).read_bytes()
    assert _flat_fields(body) == _parsed(body)
    assert _flat_fields(body.decode()) == _parsed(body)


def test_a_safe_mode_envelope_takes_the_fast_path():
    from wechatpy.crypto import WeChatCrypto

    crypto = WeChatCrypto("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxappid")
    sealed = crypto.encrypt_message((FIXTURES / "text.xml").read_text(), "nonce", "1772413200")
    assert _flat_fields(sealed) == _parsed(sealed)


@pytest.mark.parametrize(
    "body",
    [
        '<?xml version="1.0"?><xml><A>1</A></xml>',  # a declaration
        '<xml a="1"><A>1</A></xml>',  # an attribute
        "<xml><A><B>1</B></A></xml>",  # nested
        "<xml><A>a &amp; b</A></xml>",  # an entity
        "<xml><A>&#65;</A></xml>",  # a character reference
        "<xml><A><![CDATA[a\r\nb]]></A></xml>",  # the parser rewrites \r\n
        "<xml><A>\x01</A></xml>",  # not an XML character
        "<xml><!-- note --><A>1</A></xml>",  # a comment
        "<xml><A><![CDATA[x]]]]><![CDATA[>]]></A></xml>",  # split CDATA
        "<xml><A>1</B></xml>",  # mismatched
        "<xml><A/></xml>",  # an empty-element tag
        "<notxml><A>1</A></notxml>",
        "<xml><A>1</A></xml>junk",
    ],
)
def test_anything_but_a_flat_document_goes_to_the_parser(body):
    assert _flat_fields(body) is None


def test_invalid_utf8_goes_to_the_parser_which_refuses_it():
    assert _flat_fields(b"<xml><A>\xff</A></xml>") is None
    with pytest.raises(Exception, match="unacceptable XML"):
        xml_fields(b"<xml><A>\xff</A></xml>")


def test_random_documents_read_the_same_on_both_paths_or_go_to_the_parser():
    pieces = ["<xml>", "</xml>", "<A>", "</A>", "<B_1>", "</B_1>", "<![CDATA[", "]]>", "]]",
              "]", ">", "<", "&", " ", "\n", "\r", "\t", "x", "签到", "\x00", "\u3000",
              "1"]  # fmt: skip
    rng = random.Random(7)
    fast = 0
    for _ in range(20_000):
        body = "<xml>" + "".join(rng.choices(pieces, k=rng.randint(0, 12))) + "</xml>"
        if rng.random() < 0.5:
            inner = rng.choice(["签到 ", "]]x", " 12 ", "", "a]b"])
            body = f"<xml><A><![CDATA[{inner}]]></A>\n<B>{inner.strip(']')}</B></xml>"
        fields = _flat_fields(body)
        if fields is None:
            continue
        fast += 1
        assert fields == _parsed(body), body
    assert fast > 1000  # the comparison did happen
