"""Prepared: a statement compiled once per dialect and run on the driver's own cursor.

The inbound path's batches run a dozen reads per batch and a few per message. SQLAlchemy's
work around each execution (a cache lookup, building an execution context, reading the
cursor's description into a result object, every row through a Row) cost more CPU than the
database's own work, and on PostgreSQL that CPU is spent holding the GIL the event loop needs.
Here the statement is compiled once per dialect; each execution converts the parameters with
the bind processors SQLAlchemy would use, runs the SQL on the DBAPI connection under the same
transaction, and converts the columns with the same result processors into light rows
(named tuples, so `row.name`, `row[0]`, unpacking and `row._mapping` still work).

The rows are exactly what SQLAlchemy returns for the statement. Given a Session, or a
Connection with event listeners or echo on (tests that count statements, debugging), it runs
through SQLAlchemy as usual.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from models.batch_sql import BinaryStatement, bind_of, per_dialect, unnested
from models.db import key_checks_planned_once


class _RowBase(tuple):
    __slots__ = ()

    @property
    def _mapping(self) -> dict:
        return self._asdict()


class Prepared:
    """A SELECT (or a DML ... RETURNING), or {dialect name: one} for statements that differ."""

    def __init__(self, statement):
        self.statements = statement if isinstance(statement, dict) else None
        self.statement = None if isinstance(statement, dict) else statement
        self._plans: dict[type, list] = {}  # per dialect class (its driver's paramstyle)

    @classmethod
    def per_dialect(cls, build) -> Prepared:
        """Prepared(models.batch_sql.per_dialect(build)): a list parameter per dialect."""
        return cls(per_dialect(build))

    def _for(self, dialect):
        if self.statements is not None:
            return self.statements[dialect.name]
        return self.statement

    def _plan(self, dialect) -> list:
        plan = self._plans.get(type(dialect))
        if plan is not None:
            return plan
        statement = self._for(dialect)
        compiled = statement.compile(dialect=dialect)
        if compiled.insert_prefetch or compiled.update_prefetch:
            # Python-side column defaults are SQLAlchemy's to compute: name every column.
            missing = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
            raise ValueError(f"Prepared statements name every column with a default: {missing}")
        binds = compiled.binds
        # Values bound when the statement was built (a LIMIT's, say); the rest come per call.
        defaults = {name: b.effective_value for name, b in binds.items() if not b.required}
        names = list(compiled.positiontup) if compiled.positional else list(dict.fromkeys(binds))
        params = tuple(
            (name, defaults.get(name), _bind_processor(binds[name].type, dialect)) for name in names
        )
        # The columns as SQLAlchemy's own results name and convert them; the converters need
        # the driver's column types, known after the first execution (see _converters).
        columns = tuple(entry.type for entry in compiled._result_columns)
        keys = [entry.keyname for entry in compiled._result_columns]
        row_type = type("Row", (_RowBase, namedtuple("_Row", keys, rename=True)), {"__slots__": ()})
        plan = [compiled.string, compiled.positional, params, columns, None, row_type._make]
        self._plans[type(dialect)] = plan
        return plan

    @staticmethod
    def _converters(plan: list, dialect, description) -> tuple:
        converters = tuple(
            (i, process)
            for i, (type_, described) in enumerate(zip(plan[3], description, strict=True))
            if (process := _result_processor(type_, dialect, described[1])) is not None
        )
        plan[4] = converters
        return converters

    def all(self, executor, params: dict | None = None) -> list:
        """The rows of the statement for `params`."""
        params = params or {}
        if not isinstance(executor, Connection) or _observed(executor):
            return list(executor.execute(self._for(bind_of(executor).dialect), params))
        plan = self._plan(executor.dialect)
        cursor = _driver(executor).cursor()
        try:
            cursor.execute(plan[0], _values(plan[1], plan[2], params))
            return self._rows(plan, executor.dialect, cursor)
        finally:
            cursor.close()

    def _rows(self, plan: list, dialect, cursor) -> list:
        """The executed statement's rows, each column as SQLAlchemy would convert it."""
        fetched = cursor.fetchall()
        converters, make = plan[4], plan[5]
        if converters is None:
            converters = self._converters(plan, dialect, cursor.description)
        if not converters:
            return [make(row) for row in fetched]
        out = []
        for row in fetched:
            row = list(row)
            for i, process in converters:
                row[i] = process(row[i])
            out.append(make(row))
        return out

    def run(self, executor, params: dict | list[dict] | None = None) -> int:
        """Execute a statement that returns no rows (a list: one executemany); the row count."""
        if not isinstance(executor, Connection) or _observed(executor):
            statement = self._for(bind_of(executor).dialect)
            options = {"preserve_rowcount": True}
            result = executor.execute(statement, params or {}, execution_options=options)
            return max(result.rowcount or 0, 0)
        sql, positional, wanted, _, _, _ = self._plan(executor.dialect)
        cursor = _driver(executor).cursor()
        try:
            if isinstance(params, list):
                cursor.executemany(sql, [_values(positional, wanted, p) for p in params])
            else:
                cursor.execute(sql, _values(positional, wanted, params or {}))
            return max(cursor.rowcount or 0, 0)
        finally:
            cursor.close()

    def first(self, executor, params: dict | None = None):
        rows = self.all(executor, params)
        return rows[0] if rows else None

    def scalar(self, executor, params: dict | None = None):
        row = self.first(executor, params)
        return row[0] if row is not None else None

    def scalars(self, executor, params: dict | None = None) -> list:
        return [row[0] for row in self.all(executor, params)]


class Read:
    """A read to run with others (read_all): its statement, parameters and how its rows are
    shaped for the caller (a dict by key, say)."""

    __slots__ = ("params", "prepared", "shape")

    def __init__(self, prepared: Prepared, params: dict, shape: Callable[[list], Any] = list):
        self.prepared, self.params, self.shape = prepared, params, shape

    def run(self, executor) -> Any:
        return self.shape(self.prepared.all(executor, self.params))


def read_all(executor, reads: list[Read]) -> list:
    """Each read's shaped rows, in order. On PostgreSQL they travel together: psycopg's
    pipeline mode sends every statement, then reads every answer, one round trip for all
    (a writer thread that waits once, not once per statement, for its answers and the GIL)."""
    if (
        not isinstance(executor, Connection)
        or executor.dialect.name != "postgresql"
        or _observed(executor)
        or len(reads) < 2
    ):
        return [read.run(executor) for read in reads]
    dialect = executor.dialect
    raw = _driver(executor)
    sent = []
    try:
        with raw.pipeline():
            for read in reads:
                plan = read.prepared._plan(dialect)
                cursor = raw.cursor()
                sent.append((read, plan, cursor))
                cursor.execute(plan[0], _values(plan[1], plan[2], read.params))
        return [read.shape(read.prepared._rows(plan, dialect, cur)) for read, plan, cur in sent]
    finally:
        for _, _, cursor in sent:
            cursor.close()


@contextmanager
def together(conn: Connection) -> Iterator[None]:
    """Writes whose answers nobody reads, sent together: on PostgreSQL in psycopg's pipeline
    mode (one round trip for all, an error raised when the block ends), elsewhere one by one."""
    if conn.dialect.name != "postgresql" or _observed(conn):
        yield
        return
    with _driver(conn).pipeline():
        yield


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class RowsInsert:
    """An INSERT of many rows into `columns`, each column a row leaves out filled as SQLAlchemy
    would (its Python default, else NULL): one executemany on the driver (Prepared); on
    PostgreSQL, more than one row is ONE statement (INSERT ... SELECT FROM unnest of one array
    per column), where an executemany sends, and the server runs, one per row; its
    foreign-key checks keep their plans (models.db.key_checks_planned_once)."""

    def __init__(self, table, columns: tuple[str, ...], *, skip_conflicts_on: str = ""):
        """`skip_conflicts_on`: a unique column; rows whose value is already there (or earlier
        in the same rows) are skipped (ON CONFLICT DO NOTHING)."""
        self.table, self.columns, self.key = table, columns, skip_conflicts_on
        self._each = {dialect: Prepared(self._insert(dialect)) for dialect in _INSERTS}
        self._from_arrays: BinaryStatement | None = None

    def _insert(self, dialect: str, rows_of=None):
        """INSERT of one row's parameters, or of the rows of `rows_of`, in `dialect`."""
        statement = _INSERTS[dialect](self.table)
        if rows_of is None:
            statement = statement.values({name: bindparam(name) for name in self.columns})
        else:
            statement = statement.from_select(list(self.columns), rows_of)
        if self.key:
            statement = statement.on_conflict_do_nothing(index_elements=[self.key])
        return statement

    def _complete(self, row: dict) -> dict:
        return {
            name: row[name] if name in row else _left_out(self.table.c[name])
            for name in self.columns
        }

    def __call__(self, conn: Connection, rows: list[dict]) -> int:
        """Insert `rows`; the number inserted."""
        if not rows:
            return 0
        rows = [self._complete(row) for row in rows]
        if len(rows) > 1 and conn.dialect.name == "postgresql":
            return self._unnested(conn, rows)
        return self._each[conn.dialect.name].run(conn, rows)

    def _unnested(self, conn: Connection, rows: list[dict]) -> int:
        if self._from_arrays is None:
            params: dict = {}
            rows_of = unnested(self.table, self.columns, "r", params)
            self._from_arrays = BinaryStatement(self._insert("postgresql", rows_of), params)
        arrays = {f"r_{name}": [row[name] for row in rows] for name in self.columns}
        if not self.table.foreign_keys:
            return self._from_arrays(conn, arrays)
        with key_checks_planned_once(conn):
            return self._from_arrays(conn, arrays)


class PreparedInsert:
    """INSERT INTO `table` the columns a row names (one Prepared per set of names), with
    `returning` columns if given: columns a row leaves out keep their defaults."""

    def __init__(self, table, *returning, build=None):
        self.table, self.returning = table, returning
        self.build = build or (lambda table: insert(table))  # e.g. an ON CONFLICT variant
        self._by_names: dict[tuple, Prepared] = {}

    def _for(self, names: tuple) -> Prepared:
        found = self._by_names.get(names)
        if found is None:
            statement = self.build(self.table).values({name: bindparam(name) for name in names})
            if self.returning:
                statement = statement.returning(*self.returning)
            found = self._by_names[names] = Prepared(statement)
        return found

    def _with_defaults(self, row: dict) -> dict:
        """The row with each column default it leaves out (as SQLAlchemy would add it)."""
        for column in self.table.c:
            if column.default is not None and column.key not in row:
                row[column.key] = _left_out(column)
        return row

    def run(self, executor, row: dict) -> int:
        row = self._with_defaults(dict(row))
        return self._for(tuple(row)).run(executor, row)

    def run_many(self, executor, rows: list[dict]) -> int:
        """Rows that name the same columns: one executemany."""
        rows = [self._with_defaults(dict(row)) for row in rows]
        return self._for(tuple(rows[0])).run(executor, rows) if rows else 0

    def scalar(self, executor, row: dict):
        row = self._with_defaults(dict(row))
        return self._for(tuple(row)).scalar(executor, row)


def _left_out(column):
    """What SQLAlchemy writes for a column an insert leaves out: its Python default, else None."""
    default = column.default
    if default is None:
        return None
    if default.is_clause_element:  # SQL defaults: not for this path
        raise ValueError(f"{column.table.name}.{column.key} has a SQL default")
    return default.arg(None) if default.is_callable else default.arg


def _values(positional: bool, wanted: tuple, params: dict):
    """The driver's parameters: each through its bind processor, in the SQL's order."""
    if positional:
        return tuple(
            params.get(name, default) if process is None else process(params.get(name, default))
            for name, default, process in wanted
        )
    values = {}
    for name, default, process in wanted:
        value = params.get(name, default)
        values[name] = value if process is None else process(value)
    return values


def _driver(conn: Connection):
    """The DBAPI connection under `conn`, its transaction begun as SQLAlchemy's first statement
    would begin it (so that conn.commit() and conn.rollback() apply to what runs here)."""
    if not conn.in_transaction():
        conn.begin()
    return conn.connection.dbapi_connection


def _observed(conn: Connection) -> bool:
    """Someone listens to this connection's statements (events, echo): let SQLAlchemy run it."""
    return conn._has_events or conn.engine._has_events or conn._echo


def _bind_processor(type_, dialect):
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _result_processor(type_, dialect, coltype):
    return type_.dialect_impl(dialect).result_processor(dialect, coltype)
