"""WeChat wire details that need no HTTP: signatures, XML fields, dedupe keys, reply splitting."""

from __future__ import annotations

import pytest

from bot.pipeline import PASSIVE_MAX_BYTES, split_passive
from bot.wechat import WechatRejected, dedup_key, sign, xml_fields


def test_the_signature_is_sha1_of_the_sorted_parts():
    # The example from WeChat's documentation style: order of the parts does not matter.
    assert sign("b", "a", "c") == sign("c", "b", "a")
    assert len(sign("wxtoken", "1", "2")) == 40


def test_xml_fields_reads_cdata_and_plain_elements():
    fields = xml_fields(b"<xml><A><![CDATA[ \xe4\xbd\xa0\xe5\xa5\xbd ]]></A><B>12</B></xml>")
    assert fields == {"A": "你好", "B": "12"}


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE x [<!ENTITY e "1">]><xml><A>&e;</A></xml>',
        b'<!DOCTYPE x SYSTEM "http://evil.example/x.dtd"><xml/>',
        b"<xml><A></xml>",
        b"<notxml/>",
    ],
)
def test_xml_fields_refuses_dtds_entities_and_garbage(body):
    with pytest.raises(WechatRejected) as err:
        xml_fields(body)
    assert err.value.status == 400


def test_messages_dedupe_by_msgid_and_events_by_sender_time_and_event():
    assert dedup_key({"MsgId": "42", "FromUserName": "o1"}) == "msg:42"
    event = {"FromUserName": "o1", "CreateTime": "1772413200", "Event": "CLICK"}
    assert dedup_key(event) == "evt:o1:1772413200:CLICK"


def test_a_long_reply_is_split_at_a_paragraph_within_the_passive_limit():
    paragraphs = ["段落" * 150 + str(i) for i in range(6)]  # ~900 bytes each
    first, rest = split_passive("\n\n".join(paragraphs))
    assert len(first.encode()) <= PASSIVE_MAX_BYTES
    assert first == "\n\n".join(paragraphs[:2])
    assert rest == "\n\n".join(paragraphs[2:])
    assert split_passive("短") == ("短", "")
