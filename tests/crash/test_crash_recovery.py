"""Issue 12: the server SIGKILLed in the middle of mixed WeChat traffic loses nothing and
duplicates nothing once WeChat has retried, and never answers "success" before the effect is
durable.

A real `shixi serve` (web only) on a real SQLite file or PostgreSQL schema; 16 concurrent
senders of signed, AES-encrypted callbacks: check-ins, journals (日报, two parts, 提交), 维权
reports, binds with fresh invite codes and a teacher's 今日. The server is killed when a third
and again when two thirds of the messages have been answered (counts, not times); after each
restart every message without a 200 is sent again byte for byte (same MsgId, timestamp, nonce
and signature), as WeChat's retry does. Then the database must hold each flow's effect
exactly once, and every empty answer ("success") must stand for a durable effect whose reply
went to the outbox.
"""

from __future__ import annotations

import asyncio

from crash_harness import Flow, Message, Server, interleave, send_flows

from bench import effects, population
from bench.callbacks import Crafter

SENDERS = 16
# SIGKILL once a third of all messages have been answered, restart, resend, and again at two
# thirds: each kill cuts off every message then in flight, whatever stage it is in.
KILL_AT = (1 / 3, 2 / 3)
CHECKINS, JOURNALS, REPORTS, BINDS, TEACHER_TODAYS = 40, 40, 40, 30, 5
PART = "今天在{where}跟着师傅学习设备点检和保养流程，记下了每一个步骤和注意事项，编号 {marker}。"


def _flows(url: str) -> list[Flow]:
    craft = Crafter()
    teacher = population.add_teachers(url, 1, students_each=0)[0]
    students = population.add_students(url, CHECKINS + JOURNALS + REPORTS, teacher_ids=[teacher])
    checkin_ids = students[:CHECKINS]
    journal_ids = students[CHECKINS : CHECKINS + JOURNALS]
    report_ids = students[CHECKINS + JOURNALS :]
    newcomers = population.add_students(url, BINDS, bound=False, teacher_ids=[teacher])
    codes = population.add_invites(url, newcomers)

    def flow(kind, openid, person_id, steps, **expect):
        messages = [Message(craft.text(openid, text) if text else craft.location(openid), what)
                    for what, text in steps]  # fmt: skip
        return Flow(kind, openid, person_id, messages, expect)

    def student(sid):
        return population.STUDENT_OPENID.format(sid)

    checkins = [flow("checkin", student(s), s, [("location", None)]) for s in checkin_ids]
    journals = []
    for s in journal_ids:
        parts = [PART.format(where=w, marker=f"J{s:06d}{w}") for w in ("车间", "仓库")]
        steps = [("日报", "日报"), ("part 1", parts[0]), ("part 2", parts[1]), ("提交", "提交")]
        journals.append(flow("journal", student(s), s, steps, parts=parts))
    reports = [
        flow("report", student(s), s, [("维权", f"维权 公司两个月没发工资了，编号 R{s:06d}")],
             marker=f"R{s:06d}")
        for s in report_ids
    ]  # fmt: skip
    binds = [
        flow("bind", population.NEWCOMER_OPENID.format(s), s, [("绑定", f"绑定 {code}")], code=code)
        for s, code in zip(newcomers, codes, strict=True)
    ]
    todays = [("今日", "今日")] * TEACHER_TODAYS
    teacher_flow = flow("today", population.TEACHER_OPENID.format(teacher), teacher, todays)
    mixed = interleave([checkins, journals, reports, binds])
    half = len(mixed) // 2
    return [*mixed[:half], teacher_flow, *mixed[half:]]


def _effects(url: str, flows: list[Flow]) -> dict[int, int]:
    """How many times each flow's effect is in the database (by the flow's index)."""
    by_kind: dict[str, list[tuple[int, Flow]]] = {}
    for i, f in enumerate(flows):
        by_kind.setdefault(f.kind, []).append((i, f))
    holiday = population.holiday_today() is not None  # then a location records nothing
    out: dict[int, int] = {}
    checkins = effects.checkins(url, [f.person_id for _, f in by_kind["checkin"]])
    for i, f in by_kind["checkin"]:
        out[i] = 1 if holiday else checkins[f.person_id]
    journals = effects.journals(
        url, {f.person_id: f.expect["parts"] for _, f in by_kind["journal"]}
    )
    for i, f in by_kind["journal"]:
        counts = journals[f.person_id]
        out[i] = 0 if 0 in counts else max(counts)
    tickets = effects.tickets(url, {f.person_id: f.expect["marker"] for _, f in by_kind["report"]})
    for i, f in by_kind["report"]:
        out[i] = tickets[f.person_id]
    binds = effects.binds(
        url, {f.openid: (f.person_id, f.expect["code"]) for _, f in by_kind["bind"]}
    )
    for i, f in by_kind["bind"]:
        out[i] = binds[f.openid]
    for i, _ in by_kind["today"]:
        out[i] = 1  # read-only: its effect is the reply, checked with every other reply
    return out


def _describe(flow: Flow) -> str:
    """The flow and how each of its messages was answered, for the failure report."""
    answers = []
    for m in flow.messages:
        if not m.answered:
            answers.append(f"{m.what}: no answer")
            continue
        said = "success" if m.empty_answer else "reply"
        answers.append(f"{m.what}: {said} in run {m.phase}")
    return f"{flow.kind} {flow.openid} ({'; '.join(answers)})"


def _until_killed(server: Server, flows: list[Flow], phase: int, total: list[int], at: int):
    """Resend what is unanswered and go on with the flows; SIGKILL at the `at`-th answer."""
    stop = asyncio.Event()

    def count() -> None:
        total[0] += 1
        if total[0] == at:
            stop.set()
            server.kill()

    asyncio.run(
        send_flows(server.base, flows, senders=SENDERS, phase=phase, on_answer=count, stop=stop)
    )
    server.stop()  # reaps the killed process
    if total[0] < at:
        raise RuntimeError(f"the load ended before the kill:\n{server.log()[-2000:]}")


def test_a_killed_server_loses_and_duplicates_nothing_after_wechats_retries(db_url, tmp_path):
    flows = _flows(db_url)
    messages = [m for f in flows for m in f.messages]
    kills = [round(len(messages) * share) for share in KILL_AT]
    server = Server(db_url, tmp_path / "server.log")
    answered = [0]
    try:
        for run, at in enumerate(kills, start=1):
            server.start()
            _until_killed(server, flows, run, answered, at)
        server.start()
        asyncio.run(
            send_flows(server.base, flows, senders=SENDERS, phase=len(kills) + 1, retries=3)
        )
    finally:
        server.stop()  # a clean stop lets work finished after an answer complete

    unanswered = [f"{m.what} of {f.openid}" for f in flows for m in f.messages if not m.answered]
    found = _effects(db_url, flows)
    lost = [_describe(f) for i, f in enumerate(flows) if found[i] == 0]
    duplicated = [_describe(f) for i, f in enumerate(flows) if found[i] > 1]
    # An empty answer ("success") makes WeChat stop retrying and tells the user nothing: it is
    # right only once the effect is durable and the reply is queued in the outbox with it.
    queued = effects.outbox_to(db_url, [f.openid for f in flows])
    empty = {i: sum(m.empty_answer for m in f.messages) for i, f in enumerate(flows)}
    success_without_effect = [
        _describe(f) for i, f in enumerate(flows) if empty[i] and found[i] != 1
    ]
    success_reply_never_queued = [
        _describe(f)
        for i, f in enumerate(flows)
        if empty[i] and found[i] == 1 and queued[f.openid] < empty[i]
    ]
    assert not (
        unanswered or lost or duplicated or success_without_effect or success_reply_never_queued
    ), (
        f"{len(messages)} messages, SIGKILL after {kills} answers, then WeChat's retries\n"
        f"unanswered after the retries: {unanswered}\n"
        f"lost: {lost}\nduplicated: {duplicated}\n"
        f"answered 'success' though the effect is not there: {success_without_effect}\n"
        f"answered 'success' though no reply was queued: {success_reply_never_queued}"
    )
