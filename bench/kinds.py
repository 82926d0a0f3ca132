"""The message kinds of the webhook bench: who sends them, what is sent, which effect to expect.

Every kind has its own fresh, distinct senders. `setup` callbacks are sent (unmeasured) before
the measured ones, e.g. 日报 to open the journal draft that the measured part is added to.
`count` reads the database afterwards: for each measured callback, how many times its effect
happened (1 right, 0 lost or never sent, 2+ duplicated).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench import effects
from bench.callbacks import Callback, Crafter
from bench.population import (
    NEWCOMER_OPENID,
    STUDENT_OPENID,
    TEACHER_OPENID,
    add_invites,
    add_students,
    add_teachers,
    holiday_today,
)

STUDENTS_PER_TEACHER = 3


@dataclass(frozen=True)
class Sender:
    openid: str
    person_id: int
    code: str = ""  # the invite code a newcomer binds with


def _marker(kind: str, sender: Sender) -> str:
    return f"{kind[0].upper()}{sender.person_id:08d}"


class Kind:
    name = ""
    label = ""
    targets = (0.25, 0.25)  # real/bare on SQLite, PostgreSQL

    def senders(self, url: str, n: int) -> list[Sender]:
        ids = add_students(url, n)
        return [Sender(STUDENT_OPENID.format(i), i) for i in ids]

    def setup(self, craft: Crafter, senders: list[Sender]) -> list[Callback]:
        return []

    def message(self, craft: Crafter, sender: Sender) -> Callback:
        raise NotImplementedError

    def count(self, url: str, senders: list[Sender], sent: list[Callback]) -> dict:
        """{"counts": [times each callback's effect happened], ...details}."""
        raise NotImplementedError


def replies_kept(url: str, sent: list[Callback]) -> dict:
    """The effect of a read-only message: its reply, kept for retries or queued late."""
    how = effects.replies(url, [c.dedup_key for c in sent])
    kept = [how[c.dedup_key] for c in sent]
    return {
        "counts": [int(h in ("stored", "outbox")) for h in kept],
        "late_replies": kept.count("outbox"),
        "seen_without_reply": kept.count("empty"),
    }


class Location(Kind):
    name, label, targets = "location", "location check-in", (0.5, 0.33)

    def message(self, craft, sender):
        return craft.location(sender.openid)

    def count(self, url, senders, sent):
        holiday = holiday_today()
        if holiday is not None:  # nothing is recorded on a public holiday: only the reply
            return {**replies_kept(url, sent), "holiday": holiday or "configured"}
        found = effects.checkins(url, [s.person_id for s in senders])
        return {"counts": [found[s.person_id] for s in senders]}


class ReadOnly(Kind):
    """A command that only reads: its effect is its reply, kept for WeChat's retries."""

    text = ""

    def message(self, craft, sender):
        return craft.text(sender.openid, self.text)

    def count(self, url, senders, sent):
        return replies_kept(url, sent)


class Status(ReadOnly):
    name, label, text = "status", "状态", "状态"


class TeacherToday(ReadOnly):
    name, label, text = "today", "今日 (teacher)", "今日"

    def senders(self, url, n):
        ids = add_teachers(url, n, students_each=STUDENTS_PER_TEACHER)
        return [Sender(TEACHER_OPENID.format(i), i) for i in ids]


class JournalPart(Kind):
    name, label = "journal_part", "journal part"

    def setup(self, craft, senders):
        return [craft.text(s.openid, "日报") for s in senders]

    def message(self, craft, sender):
        marker = _marker(self.name, sender)
        return craft.text(sender.openid, f"上午跟师傅学习了设备点检流程，记录编号 {marker}。")

    def count(self, url, senders, sent):
        found = effects.drafts(url, {s.openid: _marker(self.name, s) for s in senders})
        drafts = effects.open_drafts(url, [s.openid for s in senders])
        return {"counts": [found[s.openid] for s in senders], "open_drafts": drafts}


class Report(Kind):
    name, label = "report", "维权 <text>"

    def message(self, craft, sender):
        marker = _marker(self.name, sender)
        return craft.text(sender.openid, f"维权 公司已经两个月没有发工资了，编号 {marker}")

    def count(self, url, senders, sent):
        found = effects.tickets(url, {s.person_id: _marker(self.name, s) for s in senders})
        return {"counts": [found[s.person_id] for s in senders]}


class Bind(Kind):
    name, label = "bind", "绑定 <code>"

    def senders(self, url, n):
        ids = add_students(url, n, bound=False)
        codes = add_invites(url, ids)
        return [
            Sender(NEWCOMER_OPENID.format(i), i, code) for i, code in zip(ids, codes, strict=True)
        ]

    def message(self, craft, sender):
        return craft.text(sender.openid, f"绑定 {sender.code}")

    def count(self, url, senders, sent):
        found = effects.binds(url, {s.openid: (s.person_id, s.code) for s in senders})
        return {"counts": [found[s.openid] for s in senders]}


KINDS: dict[str, Kind] = {
    k.name: k for k in (Location(), Status(), JournalPart(), Report(), Bind(), TeacherToday())
}
