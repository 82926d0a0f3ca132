"""Every row of SPEC section 2 through the terminal channel: Chinese, and Telegram-style English."""

from __future__ import annotations

import pytest

from core.geo import gcj02_to_wgs84
from tests.factories import GUIYANG
from tests.handlers.grammar_table import (
    GRAMMAR,
    LOCATION,
    SPEC_ROWS,
    assert_recorded,
    play,
    school_with_codes,
)


def test_the_table_covers_every_row_of_the_spec_grammar():
    assert {step.row for step in GRAMMAR} == SPEC_ROWS


@pytest.mark.parametrize(
    ("lang", "datum"),
    [("zh", "gcj02"), ("en", "wgs84")],
    ids=["chinese-wechat-map-pick", "english-telegram-gps"],
)
def test_the_whole_grammar_through_the_terminal_channel(session, console_factory, now, lang, datum):
    codes = school_with_codes(session, now)
    users = {
        "student": console_factory("u1", language=lang),
        "teacher": console_factory("t1", language=lang),
    }
    # A map pick is GCJ-02 as WeChat sends it; a phone's GPS is WGS-84 as Telegram sends it.
    point = GUIYANG if datum == "gcj02" else gcj02_to_wgs84(*GUIYANG)

    def send(who: str, message) -> str:
        console = users[who]
        if message is LOCATION:
            return console.send_location(*point, datum=datum)
        return console.line(message)

    play(send, lang=lang, codes=codes)
    assert_recorded(session, datum=datum)
