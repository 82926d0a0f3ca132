"""The terminal channel: lines typed (or written in a test's dialog table) become Inbound events."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from bot.types import Inbound, Location, Reply, join_replies
from models.types import utcnow

Dispatch = Callable[[Inbound], list[Reply]]

# REPL commands that stand for what a phone would send.
LOCATION_COMMAND = "/loc"  # /loc <lat> <lng> [gcj02|wgs84|bd09]


class ConsoleChannel:
    """One terminal user talking to the dispatcher; the clock stands still unless advanced."""

    def __init__(
        self,
        dispatch: Dispatch,
        user_id: str = "u1",
        *,
        now: datetime | None = None,
        language: str = "zh",
    ):
        self.dispatch = dispatch
        self.user_id = user_id
        self.now = now or utcnow()
        self.language = language
        self.last: list[Reply] = []
        self.history: list[tuple[str, str]] = []

    def advance(self, **delta) -> datetime:
        """Move this user's clock on, e.g. advance(minutes=11)."""
        self.now += timedelta(**delta)
        return self.now

    def send(self, inbound: Inbound) -> str:
        self.last = self.dispatch(inbound)
        return join_replies(self.last)

    def _inbound(self, **values) -> Inbound:
        return Inbound(
            channel="console",
            user_id=self.user_id,
            at=self.now,
            language=self.language,
            **values,
        )

    def say(self, text: str) -> str:
        """Send a line of text; returns the replies as one string."""
        reply = self.send(self._inbound(text=text))
        self.history.append((text, reply))
        return reply

    def send_location(
        self,
        lat: float,
        lng: float,
        *,
        datum: str = "gcj02",
        source: str = "location",
        accuracy_m: float | None = None,
        label: str = "",
    ) -> str:
        """Send a location, as a map pick (gcj02, like WeChat) unless told otherwise."""
        point = Location(lat, lng, datum, source=source, accuracy_m=accuracy_m, label=label)
        reply = self.send(self._inbound(kind="location", location=point, intent="checkin"))
        self.history.append((f"{LOCATION_COMMAND} {lat} {lng} {datum}", reply))
        return reply

    def line(self, text: str) -> str:
        """A REPL line: `/loc lat lng [datum]` sends a location, anything else is text."""
        parts = text.split()
        if parts and parts[0] == LOCATION_COMMAND:
            if len(parts) not in (3, 4):
                return f"用法：{LOCATION_COMMAND} <纬度> <经度> [gcj02|wgs84|bd09]"
            try:
                lat, lng = float(parts[1]), float(parts[2])
            except ValueError:
                return "纬度和经度须是数字，例如 /loc 26.5783 106.7135"
            if not (-90 <= lat <= 90 and -180 <= lng <= 180):
                return "纬度须在 -90 到 90 之间，经度须在 -180 到 180 之间"
            datum = parts[3] if len(parts) == 4 else "gcj02"
            if datum not in ("gcj02", "wgs84", "bd09"):
                return "坐标系须是 gcj02、wgs84 或 bd09"
            return self.send_location(lat, lng, datum=datum)
        return self.say(text)

    def dialog(self, rows: Iterable[tuple]) -> None:
        """Play a conversation table and check every reply whole (see verify_dialog).

        A message may be a (lat, lng) tuple for a location.
        """

        def send(message) -> list[str]:
            if isinstance(message, tuple):
                self.send_location(*message)
            else:
                self.say(message)
            return [r.text for r in self.last]

        verify_dialog(send, rows)


def verify_dialog(send: Callable[[object], list[str]], rows: Iterable[tuple]) -> None:
    """Play (message, expected) rows through `send` and compare every reply exactly.

    `expected` is the one reply's whole text, or a list of the replies' texts in order (the
    count matters too). Every row is played even after a mismatch, and all mismatches are
    reported together, so one failing step does not hide the rest (Zulip's verify_dialog).
    """
    failures = []
    for i, (message, expected) in enumerate(rows, 1):
        wanted = [expected] if isinstance(expected, str) else list(expected)
        got = send(message)
        if got != wanted:
            _record_mismatch(message, wanted, got)
            failures.append(
                f"dialog row {i}: sent {message!r}\n  expected: {wanted!r}\n  got:      {got!r}"
            )
    if failures:
        raise AssertionError("\n".join(failures))


def _record_mismatch(message, wanted: list[str], got: list[str]) -> None:
    """With DIALOG_RECORD set, append each mismatch to that file (for rewriting tables)."""
    path = os.environ.get("DIALOG_RECORD")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"sent": str(message), "wanted": wanted, "got": got}) + "\n")
