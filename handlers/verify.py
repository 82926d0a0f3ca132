"""核实: a teacher lists own students' check-ins waiting to be verified and accepts one."""

from __future__ import annotations

from bot.types import Reply
from core.evidence import describe
from handlers.base import Context, add_words, on_intent
from handlers.texts import fmt_day, fmt_time, kind_name
from models.verify_queries import accept_checkin, checkin_for_review, pending_of_teacher

NONE_PENDING = ("您的学生没有待核实的签到。", "None of your students' check-ins awaits you.")
PENDING_HEAD = ("待核实签到 {n} 条：", "Check-ins to verify ({n}):")
PENDING_LINE = (
    "#{no} {name} {day} {kind} {time}（{why}）",
    "#{no} {name} {day} {kind} {time} ({why})",
)
PENDING_FOOT = (
    "核实无误后回复「核实 编号」，该日即计为出勤。",
    'Reply "verify <no>" to count the day as present.',
)
USAGE = ("请这样写：核实 编号，例如：核实 12。", "Write: verify <no>, e.g. verify 12.")
NOT_FOUND = ("没有找到您学生的签到 #{no}。", "No check-in #{no} of your students was found.")
NOT_PENDING = ("签到 #{no} 无需核实。", "Check-in #{no} needs no verification.")
ACCEPTED = (
    "已核实：{name} {day} 的签到计为出勤。",
    "Verified: {name}'s check-in on {day} counts as present.",
)

add_words({"核实": ("verify", ""), "/verify": ("verify", ""), "verify": ("verify", "")})


def _list(ctx: Context) -> list[Reply]:
    rows = pending_of_teacher(ctx.conn, teacher_id=ctx.person_id)
    if not rows:
        return ctx.reply(NONE_PENDING)
    lines = [ctx.say(PENDING_HEAD, n=len(rows))]
    for r in rows:
        lines.append(
            ctx.say(
                PENDING_LINE,
                no=r.id,
                name=r.name,
                day=fmt_day(r.day, ctx.lang),
                kind=kind_name(r.kind, ctx.lang),
                time=fmt_time(r.at, ctx.settings.tz),
                why=describe(r.evidence, r.flags),
            )
        )
    lines.append(ctx.say(PENDING_FOOT))
    return [Reply("\n".join(lines))]


@on_intent("verify", roles=("teacher",))
def verify(ctx: Context) -> list[Reply]:
    """Lists check-ins waiting to be verified (待核实), or accepts one by its number."""
    arg = ctx.args.strip().lstrip("#")
    if not arg:
        return _list(ctx)
    if not arg.isdigit():
        return ctx.reply(USAGE)
    no = int(arg)
    row = checkin_for_review(ctx.conn, checkin_id=no)
    if row is None or row.teacher_id != ctx.person_id:
        return ctx.reply(NOT_FOUND, no=no)
    if not accept_checkin(ctx.conn, checkin_id=no, now=ctx.now):
        return ctx.reply(NOT_PENDING, no=no)
    return ctx.reply(ACCEPTED, name=row.name, day=fmt_day(row.day, ctx.lang))
