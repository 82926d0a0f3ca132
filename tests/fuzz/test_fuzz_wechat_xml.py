"""WeChat's XML readers against anything: the flat fast path agrees with the defused parse on
every input or steps aside, and xml_fields answers a dict or a refusal, nothing else."""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from hypothesis import given
from hypothesis import strategies as st

from bot.wechat import WechatRejected, _flat_fields, xml_fields
from tests.fuzz.conftest import budget

TAGS = st.sampled_from(["ToUserName", "MsgType", "Content", "A", "a_1", "Encrypt", "x"])
SPACE = st.text(alphabet=" \t\r\n", max_size=3)
# Text that stresses the edges: markup characters, CDATA ends, entities, control and
# non-characters, CR/LF, wide and combining characters.
EDGY = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("<>&]];'\"\r\n\t \x00\x01\x0b\x7f\u3000\ufffe\uffff签到]]>&amp;")),
        st.characters(codec="utf-8"),
    ),
    max_size=24,
)


@st.composite
def child(draw) -> str:
    tag = draw(TAGS)
    text = draw(EDGY)
    form = draw(st.sampled_from(["cdata", "plain", "split", "nested", "empty", "attr"]))
    if form == "cdata":
        body = f"<![CDATA[{text}]]>"
    elif form == "split":
        body = f"<![CDATA[{text}]]><![CDATA[{text}]]>"
    elif form == "nested":
        body = f"<{tag}>{text}</{tag}>"
    elif form == "empty":
        return f"{draw(SPACE)}<{tag}/>"
    else:
        body = text
    open_tag = f'<{tag} a="1">' if form == "attr" else f"<{tag}>"
    return f"{draw(SPACE)}{open_tag}{body}</{tag}>"


@st.composite
def documents(draw) -> str:
    prolog = draw(st.sampled_from(["", "", "", '<?xml version="1.0"?>', "<!-- c -->", "\ufeff"]))
    root = draw(st.sampled_from(["xml", "xml", "xml", "root"]))
    children = "".join(draw(st.lists(child(), max_size=6)))
    tail = draw(st.sampled_from(["", "", "\n", "junk", "<x/>"]))
    return f"{prolog}{draw(SPACE)}<{root}>{children}{draw(SPACE)}</{root}>{tail}"


MOSTLY_PLAIN = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("abc 12签到位置 \t\n")),
        st.sampled_from(list("]>&<\r\x00\x0b\u3000\ufffe")),
        st.characters(codec="utf-8"),
    ),
    max_size=16,
)


@st.composite
def flat_documents(draw) -> str:
    """Documents shaped like WeChat's own (the fast path's business), with edgy text inside."""
    parts = []
    for tag in draw(st.lists(TAGS, max_size=6)):
        text = draw(MOSTLY_PLAIN)
        body = f"<![CDATA[{text}]]>" if draw(st.booleans()) else text
        parts.append(f"{draw(SPACE)}<{tag}>{body}</{tag}>")
    return f"{draw(SPACE)}<xml>{''.join(parts)}{draw(SPACE)}</xml>{draw(SPACE)}"


def _parsed(text: str | bytes) -> dict[str, str] | None:
    """What the defused parser reads, or None when it refuses the document."""
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError):
        return None
    if root.tag != "xml":
        return None
    return {c.tag: (c.text or "").strip() for c in root}


def _agrees(document: str | bytes) -> None:
    fast = _flat_fields(document)
    if fast is not None:
        assert fast == _parsed(document), document
    try:
        fields = xml_fields(document)
    except WechatRejected as exc:
        assert 400 <= exc.status < 500
    else:
        assert isinstance(fields, dict)
        assert fields == _parsed(document), document


@budget(800)
@given(documents())
def test_the_flat_reader_agrees_with_the_defused_parse_or_steps_aside(document):
    _agrees(document)
    _agrees(document.encode("utf-8"))


@budget(1000)
@given(flat_documents())
def test_wechat_shaped_documents_read_the_same_on_both_paths(document):
    _agrees(document)
    _agrees(document.encode("utf-8"))


@budget(500)
@given(st.binary(max_size=200))
def test_any_bytes_are_read_or_refused_never_crashed_on(body):
    _agrees(b"<xml>" + body + b"</xml>")
    _agrees(body)


@budget(300)
@given(st.text(max_size=200))
def test_any_text_is_read_or_refused(text):
    _agrees(text)
