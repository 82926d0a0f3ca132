"""Check-ins: the one writer of a check-in (with its roll-up and alert), and the reads around it.

`record_checkin` is the only code that stores a check-in, whether it came from a location
message, the check-in page or an approved make-up request; it keeps the school's daily roll-up
in step (per batch when the inbound path hands it its batch, else at once). Every function takes
a Core Connection or an ORM Session.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import partial

from sqlalchemy import Date, Integer, String, bindparam, func, insert, type_coerce
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row

from models.batch_sql import DIALECTS, bind_of, ignoring, listed
from models.people import Company
from models.placement import Placement
from models.prepared import Prepared, Read, RowsInsert
from models.records import CheckIn, LocationSample
from models.stats import count_school_day
from models.tickets import Alert

_PLACEMENT = Placement.__table__
_CHECKIN = CheckIn.__table__
_SAMPLE = LocationSample.__table__
_ALERT = Alert.__table__

CHECKIN_COLUMNS = tuple(c.key for c in _CHECKIN.c if c.key != "id")
# What readers use of a placement and a check-in: row bookkeeping times are left out (every
# aware timestamp read costs a conversion, and a teacher's 今日 reads dozens of rows).
# With its company's name (a student's 状态 shows it).
_COMPANY = Company.__table__
_PLACEMENT_READ = [c for c in _PLACEMENT.c if c.key not in ("created_at", "updated_at")] + [
    sa_select(_COMPANY.c.name)
    .where(_COMPANY.c.id == _PLACEMENT.c.company_id)
    .scalar_subquery()
    .label("company_name")
]
_CHECKIN_READ = [c for c in _CHECKIN.c if c.key != "created_at"]

_PLACEMENTS_OF = (
    sa_select(*_PLACEMENT_READ)
    .where(_PLACEMENT.c.student_id == bindparam("student_id"))
    .order_by(_PLACEMENT.c.start_date, _PLACEMENT.c.id)
)
_CHECKINS_BETWEEN = (
    sa_select(*_CHECKIN_READ)
    .where(
        _CHECKIN.c.student_id == bindparam("student_id"),
        _CHECKIN.c.day >= bindparam("start"),
        _CHECKIN.c.day <= bindparam("end"),
    )
    .order_by(_CHECKIN.c.at, _CHECKIN.c.id)
)
_PLACEMENTS_OF_MANY = Prepared.per_dialect(
    lambda member: (
        sa_select(*_PLACEMENT_READ)
        .where(member(_PLACEMENT.c.student_id, "student_ids", Integer))
        .order_by(_PLACEMENT.c.student_id, _PLACEMENT.c.start_date, _PLACEMENT.c.id)
    )
)
_CHECKINS_OF_MANY_BETWEEN = Prepared.per_dialect(
    lambda member: (
        sa_select(*_CHECKIN_READ)
        .where(
            member(_CHECKIN.c.student_id, "student_ids", Integer),
            _CHECKIN.c.day >= bindparam("start"),
            _CHECKIN.c.day <= bindparam("end"),
        )
        .order_by(_CHECKIN.c.at, _CHECKIN.c.id)
    )
)


def _evidence_at_points(dialect: str):
    """For each wanted (point, day, student): one other student at that point that day, and
    one earlier day of the student's own there. Each is one index probe (LIMIT 1), however
    many check-ins share a point: a workplace's gate is everybody's point."""
    c = _CHECKIN.c
    if dialect == "postgresql":
        arrays = (
            bindparam("points", type_=postgresql.ARRAY(String)),
            bindparam("days", type_=postgresql.ARRAY(Date)),
            bindparam("student_ids", type_=postgresql.ARRAY(Integer)),
        )
        wanted = func.unnest(*arrays).table_valued("point", "day", "student_id")
        wanted = wanted.render_derived(name="wanted")
    else:  # one JSON array of [point, day, student id] triples
        rows = func.json_each(bindparam("wanted", type_=String)).table_valued("value")
        item = partial(func.json_extract, rows.c.value)
        wanted = sa_select(
            item("$[0]").label("point"),
            type_coerce(item("$[1]"), Date).label("day"),
            item("$[2]").label("student_id"),
        ).subquery("wanted")
    w = wanted.c
    # Each ordered as its index is (ix_checkins_point_day_student, ix_checkins_student_day):
    # unordered, PostgreSQL may read the table from its start until a row matches, which at a
    # point nobody else used that day is every check-in ever made (migration 0013).
    other = (
        sa_select(c.student_id)
        .where(c.point == w.point, c.day == w.day, c.student_id != w.student_id)
        .order_by(c.student_id)
    )
    before = (
        sa_select(c.day)
        .where(c.student_id == w.student_id, c.point == w.point, c.day < w.day)
        .order_by(c.student_id, c.day.desc())
    )
    return sa_select(
        w.point,
        w.day,
        w.student_id,
        other.limit(1).scalar_subquery().label("other"),
        before.limit(1).scalar_subquery().label("before"),
    )


_EVIDENCE_AT_POINTS = Prepared({dialect: _evidence_at_points(dialect) for dialect in DIALECTS})
_SAMPLES_SINCE = Prepared.per_dialect(
    lambda member: (
        sa_select(
            _SAMPLE.c.student_id,
            _SAMPLE.c.at,
            _SAMPLE.c.lat,
            _SAMPLE.c.lng,
            _SAMPLE.c.datum,
            _SAMPLE.c.source,
        )
        .where(
            member(_SAMPLE.c.student_id, "student_ids", Integer),
            _SAMPLE.c.at >= bindparam("since"),
        )
        .order_by(_SAMPLE.c.at)
    )
)
_INSERT_CHECKIN = insert(_CHECKIN).returning(_CHECKIN.c.id)
_INSERT_CHECKINS = RowsInsert(_CHECKIN, CHECKIN_COLUMNS)
_INSERT_SAMPLE = insert(_SAMPLE)
_ALERT_ONCE = ignoring(_ALERT, "kind", "student_id", "day")


def _dialect(executor) -> str:
    return bind_of(executor).dialect.name


def placements_of(executor, *, student_id: int) -> list[Row]:
    """A student's placements, oldest first."""
    return list(executor.execute(_PLACEMENTS_OF, {"student_id": student_id}))


def checkins_between(executor, *, student_id: int, start: date, end: date) -> list[Row]:
    """A student's check-ins on days start..end (both included), oldest first."""
    params = {"student_id": student_id, "start": start, "end": end}
    return list(executor.execute(_CHECKINS_BETWEEN, params))


def checkins_on(executor, *, student_id: int, day: date) -> list[Row]:
    return checkins_between(executor, student_id=student_id, start=day, end=day)


def latest_checkin(executor, *, student_id: int) -> Row | None:
    """A student's most recent check-in."""
    stmt = (
        sa_select(*_CHECKIN_READ)
        .where(_CHECKIN.c.student_id == student_id)
        .order_by(_CHECKIN.c.at.desc(), _CHECKIN.c.id.desc())
        .limit(1)
    )
    return executor.execute(stmt).first()


def placements_of_students_read(executor, *, student_ids) -> Read:
    """The placements of many students, oldest first, by student id."""
    params = {"student_ids": listed(executor, sorted(set(student_ids)))}
    return Read(_PLACEMENTS_OF_MANY, params, _by_student)


def placements_of_students(executor, *, student_ids) -> dict[int, list[Row]]:
    return placements_of_students_read(executor, student_ids=student_ids).run(executor)


def _by_student(rows) -> dict[int, list[Row]]:
    out: dict[int, list[Row]] = {}
    for row in rows:
        out.setdefault(row.student_id, []).append(row)
    return out


def checkins_of_students_between_read(executor, *, student_ids, start: date, end: date) -> Read:
    """The check-ins of many students on days start..end, oldest first, by student id."""
    ids = listed(executor, sorted(set(student_ids)))
    params = {"student_ids": ids, "start": start, "end": end}
    return Read(_CHECKINS_OF_MANY_BETWEEN, params, _by_student)


def checkins_at_points_read(executor, *, wanted) -> Read:
    """(student id, day) pairs at the points of `wanted` ((point, day, student id) triples,
    point as core.evidence.point_key): enough to tell whether each student was at the point
    on an earlier day, and whether someone else was there that day (not every check-in ever
    made there)."""
    wanted = sorted(set(wanted))
    dialect = _dialect(executor)
    if dialect == "postgresql":
        points, days, students = (list(column) for column in zip(*wanted, strict=True))
        params = {"points": points, "days": days, "student_ids": students}
    else:
        params = {"wanted": json.dumps([[p, d.isoformat(), s] for p, d, s in wanted])}

    def shape(rows) -> dict[str, list[tuple[int, date]]]:
        out: dict[str, list[tuple[int, date]]] = {point: [] for point, _, _ in wanted}
        for row in rows:
            if row.other is not None:
                out[row.point].append((row.other, row.day))
            if row.before is not None:
                out[row.point].append((row.student_id, row.before))
        return out

    return Read(_EVIDENCE_AT_POINTS, params, shape)


def checkins_at_points(executor, *, wanted) -> dict[str, list[tuple[int, date]]]:
    return checkins_at_points_read(executor, wanted=wanted).run(executor)


def samples_of_students_since_read(executor, *, student_ids, since: datetime) -> Read:
    """The location samples (LOCATION events, live updates) of many students since `since`."""
    ids = listed(executor, sorted(set(student_ids)))
    return Read(_SAMPLES_SINCE, {"student_ids": ids, "since": since}, _by_student)


def samples_of_students_since(executor, *, student_ids, since: datetime) -> dict[int, list[Row]]:
    return samples_of_students_since_read(executor, student_ids=student_ids, since=since).run(
        executor
    )


def record_checkin(
    executor,
    *,
    school_id: int,
    student_id: int,
    placement_id: int,
    values: dict,
    first_today: bool,
    outside_alert: str | None = None,
    batch=None,
) -> int | None:
    """Store one check-in (`values`: the other columns) and count it in the daily roll-up;
    returns its id.

    `outside_alert`: the teacher's line when it lies outside the fence (one alert per student
    and day). `batch`: the inbound path's writer batch, which writes its check-ins together
    (one statement, before a message that may read them or the commit; the id is then None)
    and adds up its roll-ups; without one they are written now.
    """
    row = dict(values, school_id=school_id, student_id=student_id, placement_id=placement_id)
    if batch is None:
        new_id = executor.execute(_INSERT_CHECKIN, row).scalar_one()
    else:
        new_id = None
        batch.rows("checkin_rows", _INSERT_CHECKINS, later=True).append(row)
    day = values["day"]
    count_school_day(
        executor,
        batch=batch,
        school_id=school_id,
        day=day,
        checkins=1,
        students_checked_in=int(first_today),
        device_checkins=int(values.get("evidence") == "device"),
    )
    if outside_alert is not None:
        executor.execute(
            _ALERT_ONCE[_dialect(executor)],
            dict(
                school_id=school_id,
                student_id=student_id,
                kind="outside_fence",
                severity="normal",
                day=day,
                message=outside_alert,
                status="open",
                created_at=values["created_at"],
                updated_at=values["created_at"],
            ),
        )
    return new_id


def record_location_sample(executor, *, account, inbound, at: datetime) -> None:
    """Keep a passive location (WeChat LOCATION event, Telegram live update) as evidence."""
    loc = inbound.location
    executor.execute(
        _INSERT_SAMPLE,
        dict(
            school_id=account.school_id,
            student_id=account.person_id,
            channel=inbound.channel,
            external_id=inbound.user_id,
            at=at,
            lat=loc.lat,
            lng=loc.lng,
            datum=loc.datum[:8],
            accuracy_m=loc.accuracy_m,
            live_period=loc.live_period,
            source=loc.source[:16],
        ),
    )
