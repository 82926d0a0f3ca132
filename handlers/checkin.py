"""签到: a location becomes a start or end check-in of today's placement, in its fence or not."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace

from sqlmodel import select

from bot.types import Location, Reply
from core.calendar import HOLIDAY_NAMES_ZH
from core.checkin_rules import DayDecision, decide_day, fence, is_repeat, late_minutes, next_kind
from core.geo import DATUMS, valid_point
from core.settings import Settings
from handlers.base import Context, on_intent, say
from handlers.texts import fmt_day, fmt_distance, fmt_radius, fmt_time, kind_name
from models import Alert, CheckIn, Company, LocationSample, Placement, Student
from models.checkin_queries import checkins_on, placements_of
from models.stats import bump_school_day

ASK_LOCATION = (
    "请发送您的位置完成签到：点输入框旁的「+」，选择「位置」，再点「发送」。",
    "Please send your location to check in (📎 → Location → Send).",
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
HOLIDAY = (
    "今天（{day}）是法定节假日{name}，无需签到。本次未记录。",
    "Today ({day}) is a public holiday{name}; no check-in needed. Nothing was recorded.",
)
REST_DAY = (
    "今天（{day}）不是您的实习工作日，无需签到。本次未记录。",
    "Today ({day}) is not one of your workdays; no check-in needed. Nothing was recorded.",
)
RECEIPT_IN = (
    "{kind}签到成功：{time}，距实习地点{dist}。",
    "Checked in ({kind}) at {time}, {dist} from your workplace.",
)
RECEIPT_OUT = (
    "已记录{kind}签到：{time}。距实习地点{dist}，超出 {radius}签到范围。"
    "已记录，指导教师会看到；如地址有变请联系老师。",
    "Check-in ({kind}) recorded at {time}. You were {dist} from your workplace, outside the "
    "{radius} range. It is recorded and your teacher will see it; if your workplace has "
    "moved, please tell your teacher.",
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
    "刚才已经签到过了，无需重复签到。",
    "You have just checked in; no need to repeat.",
)
OUTSIDE_ALERT = "{name} {time} 签到距实习地点{dist}，超出 {radius} 米签到范围"


@dataclass(frozen=True, slots=True)
class CheckinDecision:
    """What one location means: the reply, and the check-in row to store (None: nothing new)."""

    text: str
    values: dict | None = None  # columns of the new check-in, school/student/placement aside
    placement: Placement | None = None
    first_today: bool = False
    ask_location: bool = False


def receipt_text(row, placement: Placement, *, lang: str, settings: Settings) -> str:
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
    text = say(RECEIPT_IN if row.within_fence else RECEIPT_OUT, lang, **values)
    if row.kind == "start":
        late = late_minutes(row.at, placement, settings)
        if late > 0:
            start = fmt_time(placement.shift_start, settings.tz)
            text += say(LATE, lang, start=start, minutes=late)
    else:
        text += say(END_HINT, lang)
    return text


def receipt(ctx: Context, row: CheckIn, placement: Placement) -> str:
    """What a student is told about one check-in."""
    return receipt_text(row, placement, lang=ctx.lang, settings=ctx.settings)


def refusal_text(decision: DayDecision, day: date, lang: str) -> str:
    """Why there is nothing to check in for on `day`."""
    if decision.reason == "not_started":
        return say(NOT_STARTED, lang, day=fmt_day(decision.starts, lang))
    if decision.reason == "ended":
        return say(ENDED, lang, day=fmt_day(decision.ended, lang))
    if decision.reason == "holiday":
        name = decision.holiday or ""
        shown = name if lang == "en" else HOLIDAY_NAMES_ZH.get(name, name)
        wrapped = (f" ({shown})" if lang == "en" else f"（{shown}）") if shown else ""
        return say(HOLIDAY, lang, day=fmt_day(day, lang), name=wrapped)
    if decision.reason == "rest_day":
        return say(REST_DAY, lang, day=fmt_day(day, lang))
    return say(NO_PLACEMENT, lang)


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
) -> CheckinDecision:
    """The whole check-in decision for a student's location; the caller supplies the reads.

    `placements()` gives the student's placements and `earlier(day)` the day's check-ins oldest
    first (CheckIn objects or rows with the same attributes). Both paths (the ORM handler and
    the batched webhook path) use this, so only their I/O differs.
    """
    if loc.datum not in DATUMS or not valid_point(loc.lat, loc.lng):
        return CheckinDecision(say(BAD_POINT, lang), ask_location=True)
    day = now.astimezone(settings.tz).date()
    decision = decide_day(placements(), day, settings)
    if not decision.ok:
        return CheckinDecision(refusal_text(decision, day, lang))
    placement = decision.placement
    where = fence(loc.lat, loc.lng, loc.datum, placement)
    rows = earlier(day)
    previous = rows[-1] if rows else None
    # A live share keeps sending points: it counts once, the rest is evidence.
    live_again = loc.source == "live" and previous is not None and previous.source == "live"
    if live_again or is_repeat(previous, now, where.norm, settings):
        text = say(REPEAT, lang) + receipt_text(previous, placement, lang=lang, settings=settings)
        return CheckinDecision(text, placement=placement)
    values = dict(
        day=day,
        at=now,
        kind=next_kind(len(rows)),
        raw_lat=loc.lat,
        raw_lng=loc.lng,
        datum=loc.datum,
        norm_lat=where.norm[0],
        norm_lng=where.norm[1],
        distance_m=round(where.distance_m, 1),
        within_fence=where.within,
        source=loc.source if loc.source in ("location", "event", "live") else "location",
        accuracy_m=loc.accuracy_m,
        label=(loc.label or "")[:255],
        channel=channel,
        created_at=now,
    )
    text = receipt_text(SimpleNamespace(**values), placement, lang=lang, settings=settings)
    return CheckinDecision(text, values=values, placement=placement, first_today=not rows)


def outside_alert_text(name: str, values: dict, placement: Placement, settings: Settings) -> str:
    """The teacher's line about a check-in outside the fence."""
    return OUTSIDE_ALERT.format(
        name=name,
        time=fmt_time(values["at"], settings.tz),
        dist=fmt_distance(values["distance_m"], "zh"),
        radius=placement.radius_m,
    )


def add_checkin(ctx: Context, *, student: Student, placement: Placement, **values) -> CheckIn:
    """Store a check-in and keep the school's daily roll-up in step."""
    day: date = values["day"]
    first = not checkins_on(ctx.session, student_id=student.id, day=day)
    row = CheckIn(school_id=student.school_id, student_id=student.id, placement_id=placement.id)
    for key, value in values.items():
        setattr(row, key, value)
    ctx.session.add(row)
    ctx.session.flush()
    bump_school_day(
        ctx.session,
        school_id=student.school_id,
        day=day,
        checkins=1,
        students_checked_in=1 if first else 0,
    )
    return row


def _raise_outside_alert(ctx: Context, student: Student, row: CheckIn, placement: Placement):
    """One outside-fence alert per student and day, for the teacher's list."""
    exists = ctx.session.exec(
        select(Alert.id).where(
            Alert.kind == "outside_fence", Alert.student_id == student.id, Alert.day == row.day
        )
    ).first()
    if exists is not None:
        return
    values = dict(at=row.at, distance_m=row.distance_m)
    ctx.session.add(
        Alert(
            school_id=student.school_id,
            student_id=student.id,
            kind="outside_fence",
            day=row.day,
            message=outside_alert_text(student.name, values, placement, ctx.settings),
            created_at=ctx.now,
            updated_at=ctx.now,
        )
    )


@on_intent("checkin")
def checkin(ctx: Context) -> list[Reply]:
    """Records a location as today's start or end check-in and says how far from work it was."""
    if ctx.role != "student":
        return ctx.reply(ONLY_STUDENTS)
    loc = ctx.inbound.location
    if loc is None:
        return [Reply(ctx.say(ASK_LOCATION), ask_location=True)]
    student = ctx.person()
    decision = decide_checkin(
        loc,
        now=ctx.now,
        settings=ctx.settings,
        lang=ctx.lang,
        channel=ctx.inbound.channel,
        placements=lambda: placements_of(ctx.session, student_id=student.id),
        earlier=lambda day: checkins_on(ctx.session, student_id=student.id, day=day),
    )
    if decision.values is not None:
        placement = decision.placement
        row = add_checkin(ctx, student=student, placement=placement, **decision.values)
        if not row.within_fence:
            _raise_outside_alert(ctx, student, row, placement)
    return [Reply(decision.text, ask_location=decision.ask_location)]


def record_sample(ctx: Context) -> None:
    """Keeps a passive location (WeChat LOCATION event, Telegram live update) as evidence."""
    loc = ctx.inbound.location
    # Only students' whereabouts are evidence; nobody else's location is kept.
    if ctx.role != "student" or loc is None or not valid_point(loc.lat, loc.lng):
        return
    student_id = ctx.account.person_id
    ctx.session.add(
        LocationSample(
            school_id=ctx.account.school_id,
            student_id=student_id,
            channel=ctx.inbound.channel,
            external_id=ctx.inbound.user_id,
            at=ctx.now,
            lat=loc.lat,
            lng=loc.lng,
            datum=loc.datum[:8],
            accuracy_m=loc.accuracy_m,
            live_period=loc.live_period,
            source=loc.source[:16],
        )
    )
    ctx.session.flush()


def company_name(ctx: Context, placement: Placement) -> str:
    company = ctx.session.get(Company, placement.company_id)
    return company.name if company else ""


def local_at(ctx: Context, day: date, at) -> datetime:
    """A local wall-clock time on `day` as an aware datetime."""
    return datetime.combine(day, at, tzinfo=ctx.settings.tz)
