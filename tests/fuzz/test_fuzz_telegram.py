"""Telegram updates against anything: the parser (Update.de_json + to_inbound) yields an Inbound,
ignores the update, or fails in the ways the route answers with a 400; the route never 500s."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Update

from api.routes.telegram import check_location
from bot.telegram import build_application, to_inbound
from core.settings import Settings
from tests.fuzz.conftest import budget

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
# What the webhook route answers with a 400.
PARSER_REFUSALS = (AttributeError, KeyError, OverflowError, TypeError, ValueError)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _maybe(value):
    """The value as Telegram would send it, or something else in its place."""
    return st.one_of(st.just(value), JSON)


@st.composite
def updates(draw) -> dict:
    user = {
        "id": draw(_maybe(4242)),
        "is_bot": draw(_maybe(False)),
        "first_name": draw(_maybe("小明")),
        "language_code": draw(_maybe("zh-hans")),
    }
    message = {
        "message_id": draw(_maybe(7)),
        "date": draw(_maybe(1772413200)),
        "chat": {"id": draw(_maybe(4242)), "type": draw(_maybe("private"))},
        "from": draw(_maybe(user)),
    }
    kind = draw(st.sampled_from(["text", "location", "photo", "caption", "nothing"]))
    if kind == "text":
        message["text"] = draw(_maybe(draw(st.sampled_from(["/start AB3D5F7H", "状态", "/x@b"]))))
    elif kind == "location":
        message["location"] = {
            "latitude": draw(_maybe(26.58)),
            "longitude": draw(_maybe(106.71)),
            "live_period": draw(_maybe(900)),
            "horizontal_accuracy": draw(_maybe(30.0)),
        }
    elif kind == "photo":
        message["photo"] = draw(_maybe([{"file_id": "f", "file_unique_id": "u", "width": 1,
                                         "height": 1}]))  # fmt: skip
    elif kind == "caption":
        message["caption"] = draw(_maybe("工资"))
    extra = draw(st.dictionaries(st.text(max_size=10), JSON, max_size=2))
    which = draw(st.sampled_from(["message", "edited_message", "channel_post"]))
    return {"update_id": draw(_maybe(1)), which: draw(_maybe(message | extra))}


@pytest.fixture(scope="module")
def bot():
    settings = Settings(telegram={"token": "123456:TEST-TOKEN", "webhook_secret": "s"})
    return build_application(settings).bot


def _parse(data, bot):
    """The route's reading of an update: its own checks, then python-telegram-bot's."""
    try:
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("not an update")
        check_location(data)
        update = Update.de_json(data, bot)
        return to_inbound(update, at=AT)
    except PARSER_REFUSALS:
        return None, False


@budget(400)
@given(data=updates())
def test_the_update_parser_reads_or_refuses_update_shaped_data(bot, data):
    inbound, _ = _parse(data, bot)
    if inbound is not None and inbound.location is not None:
        loc = inbound.location
        assert abs(loc.lat) <= 90 and abs(loc.lng) <= 180


@budget(400)
@given(data=JSON)
def test_the_update_parser_reads_or_refuses_any_json(bot, data):
    _parse(data, bot)


@budget(200)
@given(data=st.one_of(updates(), JSON))
def test_the_webhook_never_answers_500(fuzz_world, fuzz_client, data):
    app, _ = fuzz_world
    app.state.telegram.dispatch = lambda inbound: []  # parsing is what is fuzzed here
    body = json.dumps(data, allow_nan=True)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
    resp = fuzz_client.post("/telegram/webhook", content=body, headers=headers)
    assert resp.status_code < 500, (body, resp.text)


LOCATION_UPDATE = (
    '{"update_id": 5, "message": {"message_id": 1, "date": 1772413200, '
    '"chat": {"id": 1, "type": "private"}, "from": {"id": 1, "is_bot": false, '
    '"first_name": "a"}, "location": {"latitude": LAT, "longitude": 106.7}}}'
)


@pytest.mark.parametrize("lat", ["NaN", "Infinity", "1e400", "91", '"north"'])
def test_a_location_that_is_not_a_coordinate_is_refused(fuzz_world, fuzz_client, lat):
    app, _ = fuzz_world
    app.state.telegram.dispatch = lambda inbound: []
    resp = fuzz_client.post(
        "/telegram/webhook",
        content=LOCATION_UPDATE.replace("LAT", lat),
        headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret"},
    )
    assert resp.status_code == 400, resp.text
