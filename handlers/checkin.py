"""签到: a location becomes a start or end check-in of today's placement, in its fence or not."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING

from bot.types import Location, Reply
from core.calendar import HOLIDAY_NAMES_ZH
from core.checkin_rules import fence, is_repeat, next_kind
from core.due import DayDecision, decide_day, is_present, late_minutes
from core.evidence import PENDING, EvidenceFacts, judge, point_key, verify_state
from core.geo import DATUMS, valid_point
from core.page_token import issue
from core.settings import Settings
from handlers.base import Context, on_intent, say
from handlers.texts import fmt_day, fmt_distance, fmt_radius, fmt_time, kind_name
from models.checkins import record_checkin

if TYPE_CHECKING:
    from models import CheckIn, Placement

ASK_LOCATION = (
    "请发送您的位置完成签到：点输入框旁的「+」，选择「位置」，再点「发送」。",
    "Please send your location to check in (📎 → Location → Send).",
)
ASK_PAGE = (
    "请打开签到页面，用手机定位签到（{minutes} 分钟内有效）：\n{url}\n"
    "也可以发送位置：点输入框旁的「+」，选择「位置」。",
    "Open the check-in page to check in with your phone's position (valid {minutes} min):\n"
    "{url}\nOr send your location (📎 → Location).",
)
BAD_POINT = (
    "这个位置无法识别，请重新发送一次位置。",
    "That location could not be read; please send it again.",
)
ONLY_STUDENTS = (
    "位置签到只适用于实习学生，您无需签到。",
    "Location check-in is for students on placement; you don't need to check in.",
)
NO_PLACEMENT = (
    "没有查到您的实习安排，本次位置未记为签到。如有疑问请联系指导教师。",
    "No placement was found for you, so this was not recorded as a check-in. "
    "Please ask your teacher.",
)
NOT_STARTED = (
    "您的实习从 {day} 开始，届时再签到即可。本次未记录。",
    "Your placement starts on {day}; check in from then on. Nothing was recorded.",
)
ENDED = (
    "您的实习已于 {day} 结束，无需再签到。本次未记录。",
    "Your placement ended on {day}; no more check-ins are needed. Nothing was recorded.",
)
# A check-in on a day nobody is due is still recorded: it is evidence of holiday work.
HOLIDAY = (
    "今天是{name}，本来不用签到，这次也记下了。"
    "如果是单位安排您节假日上班，可以发送「维权」告诉老师。",
    "Today is a public holiday{name_en}: no check-in is needed, but this one is kept. If your "
    'workplace asked you to work today, you can tell your teacher with "report".',
)
REST_DAY = (
    "今天不是您的实习工作日，本来不用签到，这次也记下了。"
    "如果是单位安排加班，可以发送「维权」告诉老师。",
    "Today is not one of your workdays: no check-in is needed, but this one is kept. If your "
    'workplace asked you to work today, you can tell your teacher with "report".',
)
RECEIPT_IN = (
    "{kind}签到成功：{time}，距实习地点{dist}。",
    "Checked in ({kind}) at {time}, {dist} from your workplace.",
)
RECEIPT_OUT = (
    "{kind}签到已记录：{time}，距实习地点{dist}，在 {radius}签到范围外。"
    "如果实习地点变了，请告诉指导教师。",
    "Check-in ({kind}) kept at {time}: {dist} from your workplace, outside the {radius} range. "
    "If your workplace has moved, please tell your teacher.",
)
LATE = (
    "比上班时间 {start} 晚了 {minutes} 分钟。",
    "That is {minutes} min after your shift start ({start}).",
)
END_HINT = (
    "下班签到以当天最后一次为准。",
    "The last end check-in of the day counts.",
)
MAKEUP_RECEIPT = (
    "{day} 补卡已计为出勤（{kind} {time}）。",
    "{day} counts as present by make-up ({kind} {time}).",
)
REPEAT = (
    "您 {time} 已经{kind}签到，无需重复。",
    "You already checked in ({kind}) at {time}; no need to repeat.",
)
PENDING_NOTE = (
    "学校要求用手机定位签到：本次为地图选点，需指导教师核实后才计为出勤。"
    "下次请回复「签到」并打开签到页面。",
    "Your school requires the phone's own position: this map pin counts as present only once "
    'your teacher verifies it. Next time, send "签到" and open the check-in page.',
)
FORWARDED = (
    "转发的位置不能用于签到：它是别人发送的位置，不是您现在所在的位置。"
    "请点输入框旁的「📎」，选择「位置」，发送您自己的当前位置。",
    "A forwarded location can't be used to check in: it is someone else's message, not where "
    "you are now. Please send your own current location (📎 → Location).",
)
SOURCES = ("location", "event", "live", "device")  # CheckIn.source of a location check-in
DAYS_OFF = ("holiday", "rest_day")  # no check-in is due, but one is kept
OUTSIDE_ALERT = "{name} {time} 签到距实习地点{dist}，超出 {radius} 米签到范围"


@dataclass(frozen=True, slots=True)
class CheckinDecision:
    """What one location means: the reply, and the check-in row to store (None: nothing new)."""

    text: str
    values: dict | None = None  # columns of the new check-in, school/student/placement aside
    placement: Placement | None = None
    first_today: bool = False
    ask_location: bool = False


def receipt_text(
    row, placement: Placement, *, lang: str, settings: Settings, due: bool = True
) -> str:
    """What a student is told about one check-in (`row`: a CheckIn or anything shaped like it)."""
    values = dict(
        kind=kind_name(row.kind, lang),
        time=fmt_time(row.at, settings.tz),
        dist=fmt_distance(row.distance_m, lang),
        radius=fmt_radius(placement.radius_m, lang),
        day=fmt_day(row.day, lang),
    )
    if row.source == "makeup":
        return say(MAKEUP_RECEIPT, lang, **values)
    parts = [say(RECEIPT_IN if row.within_fence else RECEIPT_OUT, lang, **values)]
    if row.kind != "start":
        parts.append(say(END_HINT, lang))
    elif due:
        late = late_minutes(row.at, placement.shift_start, settings)
        if late > 0:
            start = fmt_time(placement.shift_start, settings.tz)
            parts.append(say(LATE, lang, start=start, minutes=late))
    return sentences(parts, lang)


def sentences(parts: list[str], lang: str) -> str:
    """Sentences as one paragraph: Chinese needs no space after 。, English does."""
    return (" " if lang == "en" else "").join(parts)


def receipt(ctx: Context, row: CheckIn, placement: Placement) -> str:
    """What a student is told about one check-in."""
    return receipt_text(row, placement, lang=ctx.lang, settings=ctx.settings)


def refusal_text(decision: DayDecision, day: date, lang: str) -> str:
    """Why there is nothing to check in for on `day`."""
    if decision.reason == "not_started":
        return say(NOT_STARTED, lang, day=fmt_day(decision.starts, lang))
    if decision.reason == "ended":
        return say(ENDED, lang, day=fmt_day(decision.ended, lang))
    return say(NO_PLACEMENT, lang)


def day_off_note(decision: DayDecision, lang: str) -> str:
    """What a check-in on a public holiday or a rest day adds to its receipt."""
    if decision.reason == "holiday":
        name = decision.holiday or ""
        shown = HOLIDAY_NAMES_ZH.get(name, name) or "法定节假日"
        return say(HOLIDAY, lang, name=shown, name_en=f" ({name})" if name else "")
    return say(REST_DAY, lang)


def refusal(ctx: Context, decision: DayDecision, day: date) -> str:
    return refusal_text(decision, day, ctx.lang)


def decide_checkin(
    loc: Location,
    *,
    now: datetime,
    settings: Settings,
    lang: str,
    channel: str,
    placements: Callable[[], Iterable[Placement]],
    earlier: Callable[[date], Sequence],
    evidence: Callable[[str, date], EvidenceFacts],
) -> CheckinDecision:
    """The whole check-in decision for a student's location; the caller supplies the reads.

    `placements()` gives the student's placements and `earlier(day)` the day's check-ins oldest
    first (CheckIn objects or rows with the same attributes), `evidence(point, day)` what its
    evidence and flags are judged on: every check-in, whatever brought its location, is
    decided here.
    """
    if loc.datum not in DATUMS or not valid_point(loc.lat, loc.lng):
        return CheckinDecision(say(BAD_POINT, lang), ask_location=True)
    day = now.astimezone(settings.tz).date()
    decision = decide_day(placements(), day, settings)
    day_off = decision.reason in DAYS_OFF and decision.placement is not None
    if not decision.ok and not day_off:
        return CheckinDecision(refusal_text(decision, day, lang))
    placement = decision.placement
    where = fence(loc.lat, loc.lng, loc.datum, placement)
    rows = earlier(day)
    # The phone's own position settles check-ins still waiting to be verified (待核实): it is
    # neither their repeat nor the day's next kind.
    counted = [r for r in rows if is_present(r)] if loc.source == "device" else rows
    previous = counted[-1] if counted else None
    # A live share keeps sending points: it counts once, the rest is evidence.
    live_again = loc.source == "live" and previous is not None and previous.source == "live"
    if live_again or is_repeat(previous, now, where.norm, settings):
        kind, time = kind_name(previous.kind, lang), fmt_time(previous.at, settings.tz)
        return CheckinDecision(say(REPEAT, lang, kind=kind, time=time), placement=placement)
    point = point_key(loc.lat, loc.lng)
    source = loc.source if loc.source in SOURCES else "location"
    proof, flags = judge(
        source=source,
        at=now,
        day=day,
        norm=where.norm,
        accuracy_m=loc.accuracy_m,
        facts=evidence(point, day),
        settings=settings,
    )
    verify = verify_state(proof, settings)
    values = dict(
        day=day,
        at=now,
        kind=next_kind(len(counted)),
        raw_lat=loc.lat,
        raw_lng=loc.lng,
        datum=loc.datum,
        norm_lat=where.norm[0],
        norm_lng=where.norm[1],
        distance_m=round(where.distance_m, 1),
        within_fence=where.within,
        source=source,
        accuracy_m=loc.accuracy_m,
        label=(loc.label or "")[:255],
        channel=channel,
        evidence=proof,
        flags=",".join(flags),
        point=point,
        verify=verify,
        created_at=now,
    )
    row = SimpleNamespace(**values)
    if day_off:
        text = receipt_text(row, placement, lang=lang, settings=settings, due=False)
        text = sentences([text, day_off_note(decision, lang)], lang)
    else:
        text = receipt_text(row, placement, lang=lang, settings=settings)
    if verify == PENDING:
        text = sentences([text, say(PENDING_NOTE, lang)], lang)
    # The day's roll-up counts the student once, with the first check-in that counts as present.
    first = verify != PENDING and not any(is_present(r) for r in rows)
    return CheckinDecision(text, values=values, placement=placement, first_today=first)


def outside_alert_text(name: str, values: dict, placement: Placement, settings: Settings) -> str:
    """The teacher's line about a check-in outside the fence."""
    return OUTSIDE_ALERT.format(
        name=name,
        time=fmt_time(values["at"], settings.tz),
        dist=fmt_distance(values["distance_m"], "zh"),
        radius=placement.radius_m,
    )


def page_link(ctx: Context) -> str:
    """The sender's signed link to the check-in page ('' without a public address)."""
    base = ctx.settings.server.public_url.rstrip("/")
    if not (base and ctx.page_key):
        return ""
    token = issue(
        ctx.page_key,
        channel=ctx.inbound.channel,
        user_id=ctx.inbound.user_id,
        student_id=ctx.person_id,
        now=ctx.now,
        ttl=timedelta(minutes=ctx.settings.checkin.page_ttl_min),
    )
    return f"{base}/checkin?t={token}"


@on_intent("checkin", roles=("student",), refusal=ONLY_STUDENTS)
def checkin(ctx: Context) -> list[Reply]:
    """Records a location as today's start or end check-in and says how far from work it was."""
    loc = ctx.inbound.location
    if loc is not None and ctx.inbound.forwarded:
        return [Reply(ctx.say(FORWARDED), ask_location=True)]
    if loc is None:
        link = page_link(ctx)
        if link:
            minutes = ctx.settings.checkin.page_ttl_min
            return [Reply(ctx.say(ASK_PAGE, url=link, minutes=minutes), ask_location=True)]
        return [Reply(ctx.say(ASK_LOCATION), ask_location=True)]
    student_id = ctx.person_id
    decision = decide_checkin(
        loc,
        now=ctx.now,
        settings=ctx.settings,
        lang=ctx.lang,
        channel=ctx.inbound.channel,
        placements=ctx.placements,
        earlier=lambda day: ctx.checkins_between(day, day),
        evidence=ctx.evidence_facts,
    )
    values = decision.values
    if values is not None:
        placement = decision.placement
        alert = None
        if not values["within_fence"]:
            me = ctx.student()
            name = me.name if me is not None else ""
            alert = outside_alert_text(name, values, placement, ctx.settings)
        row_id = record_checkin(
            ctx.conn,
            school_id=placement.school_id,
            student_id=student_id,
            placement_id=placement.id,
            values=values,
            first_today=decision.first_today,
            outside_alert=alert,
            batch=ctx.batch,
        )
        ctx.checked_in(SimpleNamespace(id=row_id, student_id=student_id, **values))
    return [Reply(decision.text, ask_location=decision.ask_location)]
