"""Time arithmetic in SQL that reads the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement):  # lower case: it reads as a SQL function
    """Seconds from `earlier` to `later` (two timestamp columns), as a float."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _generic(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (
        f"EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}))"
    )


@compiles(seconds_between, "sqlite")
def _sqlite(element, compiler, **kw):
    # Timestamps are stored as UTC text; julianday() reads them (and an offset, if any).
    later, earlier = list(element.clauses)
    return (
        f"((julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)})) * 86400.0)"
    )
