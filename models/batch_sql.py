"""Driver-level SQL for the batched writer: statements built once, lists as one parameter.

This is the fast-path plumbing under models/: not "small queries" but the tools the batched
inbound path (bot/pipeline.py) and set-wise readers use to keep SQLAlchemy's per-call work
out of the hot path:
- a list travels as ONE parameter (a JSON array read by json_each on SQLite, an array compared
  with ANY on PostgreSQL), so each statement is built and compiled once per dialect, where
  `IN (...)` with an expanding parameter is rendered anew, in Python, for every call;
- many rows are inserted as one driver executemany with the columns' own bind processors;
- PostgreSQL statements can take binary array parameters (psycopg quotes text arrays slowly).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import partial

from sqlalchemy import Column, String, any_, bindparam, func, literal_column
from sqlalchemy import column as sa_column
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

DIALECTS = ("postgresql", "sqlite")
# Written into the SQL rather than bound: a generic plan then knows them too.
ZERO, ONE = literal_column("0"), literal_column("1")


def member(dialect: str, column, name: str, item_type):
    """`column` is one of the list parameter `name` (see listed)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(item_type)))
    values = func.json_each(bindparam(name, type_=String)).table_valued("value")
    return column.in_(sa_select(values.c.value))


def per_dialect(build: Callable) -> dict:
    """{dialect: build(member)}, `member(column, name, item_type)` being that dialect's test."""
    return {dialect: build(partial(member, dialect)) for dialect in DIALECTS}


def bind_of(executor):
    """The Connection or Engine behind `executor` (a Session, a Connection or an Engine)."""
    return executor.get_bind() if hasattr(executor, "get_bind") else executor


def listed(executor, values: Iterable) -> list | str:
    """The value of a list parameter of the statements built by per_dialect (`executor`: a
    Session, a Connection or an Engine)."""
    values = list(values)
    return values if bind_of(executor).dialect.name == "postgresql" else json.dumps(values)


def ignoring(table, *key: str) -> dict:
    """INSERT ... ON CONFLICT (key) DO NOTHING, one statement per dialect."""
    return {
        "postgresql": postgresql.insert(table).on_conflict_do_nothing(index_elements=list(key)),
        "sqlite": sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key)),
    }


def json_rows(select):
    """PostgreSQL: the rows of `select` as one JSON array of arrays ('[]' when there are none)."""
    rows = select.subquery()
    return sa_select(
        func.coalesce(func.json_agg(func.json_build_array(*rows.c)), literal_column("'[]'::json"))
    ).scalar_subquery()


class BinaryStatement:
    """A PostgreSQL statement compiled once and run by psycopg with binary parameters.

    psycopg sends a list in text form unless asked otherwise, and quoting every element cost
    the writer more than executing the statement; binary parameters (`%(name)b`) skip that.
    SQLAlchemy does not process the values of a driver-level statement, so each parameter
    named in `columns` goes through that column type's bind processing here (each element of
    an array parameter), as in RowsInsert.
    """

    _PLACEHOLDER = re.compile(r"%\((\w+)\)s")

    def __init__(self, statement, columns: dict[str, tuple[Column, bool]]):
        self.statement, self.columns = statement, columns  # name -> (column, is an array)
        self._prepared: tuple | None = None

    def _prepare(self, dialect) -> tuple:
        if self._prepared is None:
            sql = self._PLACEHOLDER.sub(r"%(\1)b", self.statement.compile(dialect=dialect).string)
            processors = []
            for name, (column, is_array) in self.columns.items():
                process = column.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors.append((name, process, is_array))
            self._prepared = (sql, processors)
        return self._prepared

    def __call__(self, conn: Connection, params: dict) -> int:
        """Run the statement; the number of rows it wrote."""
        sql, processors = self._prepare(conn.dialect)
        for name, process, is_array in processors:
            value = params[name]
            params[name] = [process(v) for v in value] if is_array else process(value)
        return conn.exec_driver_sql(sql, params).rowcount


def unnested(table, columns: tuple[str, ...], prefix: str, params: dict):
    """SELECT * FROM unnest(one array parameter `prefix_column` per column of `table`)."""
    return sa_select(*unnest_of({name: table.c[name] for name in columns}, prefix, params).c)


def unnest_of(columns: dict[str, Column], prefix: str, params: dict):
    """unnest(one array parameter `prefix_name` per entry) AS prefix(name, ...): rows as
    columns, each typed and bound as its Column (which need not belong to a table).

    Each parameter is added to `params` (name -> (column, True)) for BinaryStatement.
    """
    arrays = []
    for name, column in columns.items():
        param = f"{prefix}_{name}"
        arrays.append(bindparam(param, type_=postgresql.ARRAY(column.type)))
        params[param] = (column, True)
    typed = [sa_column(name, column.type) for name, column in columns.items()]
    return func.unnest(*arrays).table_valued(*typed).render_derived(name=prefix)
