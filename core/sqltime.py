"""Local days and shift moments in SQL, the same on SQLite and PostgreSQL.

Stored instants are UTC (models.types.AwareDateTime): PostgreSQL keeps timestamptz, SQLite text
'YYYY-MM-DD HH:MM:SS.ffffff'. PostgreSQL converts with the zone's name; SQLite has no zones, so
it is given the zone's UTC offset on the day in question (Asia/Shanghai has no daylight saving,
so one offset is exact there). Zone, offset and minutes travel as bound parameters, so cached
statements never mix them up.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from models.types import AwareDateTime


def offset_minutes(tz: ZoneInfo, day: date) -> int:
    """The zone's UTC offset at noon on `day`, in minutes."""
    return int(datetime.combine(day, time(12), tz).utcoffset().total_seconds() // 60)


def _minutes(n: int) -> str:
    return f"{n:+d} minutes"


class shift_moment(FunctionElement):  # named like the SQL functions it renders
    """The instant `minutes` after a shift start on a local day."""

    type = AwareDateTime()
    inherit_cache = True

    def __init__(self, day, shift_start, *, minutes: int, tz: ZoneInfo, offset: int):
        day = literal(day, Date) if isinstance(day, date) else day
        super().__init__(
            day,
            shift_start,
            literal(tz.key, String),
            literal(int(minutes), Integer),
            literal(_minutes(int(minutes) - offset), String),  # SQLite: to UTC, then on
        )


class local_day(FunctionElement):
    """The local date of a stored instant."""

    type = Date()
    inherit_cache = True

    def __init__(self, instant, *, tz: ZoneInfo, offset: int):
        super().__init__(instant, literal(tz.key, String), literal(_minutes(offset), String))


class add_days(FunctionElement):
    """A date `n` days after (or before, when negative) a date."""

    type = Date()
    inherit_cache = True

    def __init__(self, day, n: int):
        super().__init__(day, literal(int(n), Integer), literal(f"{int(n):+d} days", String))


class greatest(FunctionElement):
    """The largest of its arguments, none of which may be NULL."""

    inherit_cache = True

    def __init__(self, *args):
        super().__init__(*args)
        self.type = args[0].type


def _args(compiler, element, **kw) -> list[str]:
    return [compiler.process(arg, **kw) for arg in element.clauses]


@compiles(shift_moment, "postgresql")
def _moment_pg(element, compiler, **kw):
    day, shift, zone, minutes, _ = _args(compiler, element, **kw)
    return (
        f"(timezone(CAST({zone} AS TEXT), CAST({day} AS DATE) + CAST({shift} AS TIME))"
        f" + make_interval(mins => CAST({minutes} AS INTEGER)))"
    )


@compiles(shift_moment, "sqlite")
def _moment_sqlite(element, compiler, **kw):
    day, shift, _, _, modifier = _args(compiler, element, **kw)
    # The very text SQLAlchemy stores for a UTC datetime, so comparisons are exact.
    return f"(strftime('%Y-%m-%d %H:%M:%f', {day} || ' ' || {shift}, {modifier}) || '000')"


@compiles(local_day, "postgresql")
def _local_day_pg(element, compiler, **kw):
    instant, zone, _ = _args(compiler, element, **kw)
    return f"CAST(timezone(CAST({zone} AS TEXT), {instant}) AS DATE)"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element, compiler, **kw):
    instant, _, modifier = _args(compiler, element, **kw)
    return f"date({instant}, {modifier})"


@compiles(add_days, "postgresql")
def _add_days_pg(element, compiler, **kw):
    day, n, _ = _args(compiler, element, **kw)
    return f"(CAST({day} AS DATE) + CAST({n} AS INTEGER))"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element, compiler, **kw):
    day, _, modifier = _args(compiler, element, **kw)
    return f"date({day}, {modifier})"


@compiles(greatest, "postgresql")
def _greatest_pg(element, compiler, **kw):
    return f"GREATEST({', '.join(_args(compiler, element, **kw))})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element, compiler, **kw):
    return f"max({', '.join(_args(compiler, element, **kw))})"
