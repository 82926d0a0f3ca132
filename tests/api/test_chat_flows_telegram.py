"""The SPEC section 2 conversation end to end over POST /telegram/webhook, Chinese and English."""

from __future__ import annotations

import itertools
from urllib.parse import parse_qs

import pytest
import respx

from core.geo import gcj02_to_wgs84
from tests.factories import GUIYANG
from tests.handlers.grammar_table import LOCATION, assert_recorded, play, school_with_codes

SECRET = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
API = "https://api.telegram.org/bot123456:TEST-TOKEN"
USERS = {"student": 5123456789, "teacher": 6234567890}
LANGUAGE_CODES = {"zh": "zh-hans", "en": "en-GB"}


@pytest.fixture
def bot_api():
    """Telegram's Bot API: every sendMessage is recorded and answered ok."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock.post(f"{API}/sendMessage").mock(side_effect=_message_ok)


def _message_ok(request):
    form = parse_qs(request.content.decode())
    chat_id = int(form["chat_id"][0])
    return respx.MockResponse(
        json={
            "ok": True,
            "result": {
                "message_id": 99,
                "date": 1772413200,
                "chat": {"id": chat_id, "type": "private"},
                "text": form["text"][0],
            },
        }
    )


class Telegram:
    """Posts updates as Telegram does and collects what the bot sent back for each."""

    def __init__(self, client, route, now, lang: str):
        self.client, self.route, self.now, self.lang = client, route, now, lang
        self.update_ids = itertools.count(718300001)

    def post(self, who: str, **content) -> str:
        user = {"id": USERS[who], "is_bot": False, "first_name": "小明"}
        user["language_code"] = LANGUAGE_CODES[self.lang]
        update_id = next(self.update_ids)
        update = {
            "update_id": update_id,
            "message": {
                "message_id": update_id % 100000,
                "from": user,
                "chat": {"id": USERS[who], "first_name": "小明", "type": "private"},
                "date": int(self.now.timestamp()),
                **content,
            },
        }
        before = self.route.call_count
        r = self.client.post("/telegram/webhook", json=update, headers=SECRET)
        assert r.status_code == 200, r.text
        sent = [parse_qs(call.request.content.decode()) for call in self.route.calls[before:]]
        assert all(int(form["chat_id"][0]) == USERS[who] for form in sent)
        return "\n\n".join(form["text"][0] for form in sent)

    def text(self, who: str, text: str) -> str:
        entities = []
        if text.startswith("/"):
            entities = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
        return self.post(who, text=text, entities=entities)

    def location(self, who: str, lat: float, lng: float) -> str:
        point = {"latitude": lat, "longitude": lng, "horizontal_accuracy": 12.5}
        return self.post(who, location=point)


@pytest.mark.parametrize("lang", ["zh", "en"], ids=["chinese-words", "english-commands"])
def test_the_whole_grammar_over_the_telegram_webhook(session, client, bot_api, now, lang):
    codes = school_with_codes(session, now)
    telegram = Telegram(client, bot_api, now, lang)

    def send(who: str, message) -> str:
        if message is LOCATION:  # a phone's GPS: WGS-84, ~540 m from the GCJ-02 numbers
            return telegram.location(who, *gcj02_to_wgs84(*GUIYANG))
        return telegram.text(who, message)

    play(send, lang=lang, codes=codes)
    assert_recorded(session, datum="wgs84")


def test_the_bind_reply_offers_a_location_button_and_a_shared_location_checks_in(
    session, client, bot_api, now
):
    codes = school_with_codes(session, now)
    telegram = Telegram(client, bot_api, now, "en")
    telegram.text("student", f"/start {codes['student_code']}")
    markup = parse_qs(bot_api.calls.last.request.content.decode())["reply_markup"][0]
    assert '"request_location": true' in markup and "Send my location" in markup
    assert "Checked in (start)" in telegram.location("student", *gcj02_to_wgs84(*GUIYANG))
