"""Set-based create-or-update of roster rows: one lookup per table, bulk driver writes.

Rows are any objects with the attributes of core.roster.RosterRow (models import nothing of
ours). A value is only written when it differs from what is stored, so re-importing the same
file changes nothing, not even updated_at.

Speed comes from few round trips and little Python per row, whatever the file's size. Each
table's wanted keys are matched against the stored rows with one join; a key that names a row
created earlier in this import (a new school's majors, a new student's placements) cannot be
stored yet and is not looked up at all. New rows go in straight through the driver, without ORM
objects. On PostgreSQL new rows take ids drawn from their sequence up front, so the tables that
point at them need no second look-up, and they stream in by binary COPY on a writer thread while
Python prepares the next table: the database's work (indexes, foreign-key checks) overlaps ours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Column, MetaData, Table, and_, func, select
from sqlmodel import Session

from models.db import CACHED_PLANS, PLAN_EACH, refresh_statistics
from models.people import (
    Company,
    Guardianship,
    Major,
    Mentor,
    Parent,
    School,
    SchoolClass,
    Student,
    Teacher,
)
from models.placement import Placement
from models.roster_scope import companies_elsewhere

_MODELS = (
    School, Major, SchoolClass, Teacher, Parent, Company, Mentor, Student, Guardianship, Placement,
)  # fmt: skip
KINDS = (
    "school", "major", "class", "teacher", "parent", "company", "mentor",
    "student", "guardianship", "placement",
)  # fmt: skip
KIND_LABELS = {
    "school": "学校", "major": "专业", "class": "班级", "teacher": "教师", "parent": "家长",
    "company": "实习单位", "mentor": "企业导师", "student": "学生", "guardianship": "家长关系",
    "placement": "实习岗位",
}  # fmt: skip
STAMPS = ("created_at", "updated_at")
OVERLAP_MIN_ROWS = 1000  # fewer rows are written before going on: a hand-over costs more


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class _Wanted:
    """What the file asks of one table: key -> (values in `columns` order, compared columns).

    A new row is created with all the values; a stored one is compared, and updated, on the
    compared columns only. When a key recurs, its compared columns take the later row's values
    (a later row wins; a soft value left empty never blanks a stored one, as it is simply not
    compared); the others keep the first row's. Keys keep the order of their first row.
    """

    columns: tuple[str, ...]
    rows: dict[tuple, tuple[tuple, tuple[str, ...]]] = field(default_factory=dict)

    @classmethod
    def of(cls, columns, keys: list[tuple], values: list[tuple], compared) -> _Wanted:
        """One entry per row, every row comparing the same columns."""
        rows = {key: (v, compared) for key, v in zip(keys, values, strict=True)}
        if len(rows) == len(keys) or compared == columns:  # no key recurs, or the last wins whole
            return cls(columns, rows)
        wanted = cls(columns)
        for key, v in zip(keys, values, strict=True):
            wanted.add(key, v, compared)
        return wanted

    def add(self, key: tuple, values: tuple, compared: tuple[str, ...]) -> None:
        entry = (values, compared)
        first = self.rows.setdefault(key, entry)
        if first is not entry and first != entry:
            (old, old_compared), (new, new_compared) = first, entry
            merged = (
                n if c in new_compared else o
                for c, o, n in zip(self.columns, old, new, strict=True)
            )
            union = old_compared + tuple(c for c in new_compared if c not in old_compared)
            self.rows[key] = (tuple(merged), union)


class _Bulk:
    """The session's own connection driven directly: lookups, COPY or executemany, updates."""

    def __init__(self, session: Session, now: datetime) -> None:
        session.flush()  # the console may hold pending ORM changes in the same transaction
        self.conn = session.connection()
        self.dialect = self.conn.dialect
        self.pg = self.dialect.name == "postgresql"
        self.raw = self.conn.connection.dbapi_connection  # same transaction as the session
        self.now = now
        # PostgreSQL: writes queued in order on one thread; reads wait for them (settle()).
        self._writer = ThreadPoolExecutor(1, "roster-writer") if self.pg else None
        self._queued: list[Future] = []
        self._types: dict[str, dict[str, int]] = {}

    # --- the writer thread ---------------------------------------------------------------

    def _later(self, write: Callable, rows: int, *args) -> None:
        """Run a write on the writer thread when it is big enough to be worth overlapping;
        a small one is quicker done here than handed over (after what is queued)."""
        if self._writer is not None and rows >= OVERLAP_MIN_ROWS:
            self._queued.append(self._writer.submit(write, *args))
        else:
            self.settle()
            write(*args)

    def settle(self) -> None:
        """Wait for the queued writes; the first that failed raises here."""
        queued, self._queued = self._queued, []
        errors = [f.exception() for f in queued]
        for error in errors:
            if error is not None:
                raise error

    def close(self) -> None:
        """Stop the writer thread; after an error, queued writes not yet begun are dropped
        (the transaction is rolled back) and the one under way is waited for."""
        if self._writer is not None:
            self._writer.shutdown(wait=True, cancel_futures=True)
        self._queued = []

    # --- reading ---------------------------------------------------------------------------

    def find(self, table: Table, key_cols, keys: list[tuple], cols) -> tuple[dict, dict]:
        """Stored rows whose key is one of `keys`: {key: row} (the lowest id of a key wins),
        and {column: position in row}."""
        names = ["id"] * ("id" in table.c) + [*key_cols, *sorted(cols)]
        pos = {c: i for i, c in enumerate(names)}
        if not keys:
            return {}, pos
        if self.pg:
            rows = self._find_pg(table, key_cols, keys, names)
        else:
            tmp = self.staged(table, key_cols, keys)
            columns = [table.c[c] for c in names]
            on = and_(*(table.c[k] == tmp.c[k] for k in key_cols))
            query = select(*columns).select_from(table.join(tmp, on))
            if "id" in table.c:
                query = query.order_by(table.c.id)
            rows = self.conn.execute(query).all()
            tmp.drop(self.conn)
        first = 1 if "id" in table.c else 0
        width = first + len(key_cols)
        found: dict[tuple, Any] = {}
        for row in rows:
            found.setdefault(tuple(row[first:width]), row)
        return found, pos

    def _find_pg(self, table: Table, key_cols, keys: list[tuple], names) -> list:
        # The keys travel as arrays (binary), unnested and joined: no temporary table to create.
        arrays = ", ".join(
            f"%b::{table.c[k].type.compile(dialect=self.dialect)}[]" for k in key_cols
        )
        on = " AND ".join(f"t.{k} = k.{k}" for k in key_cols)
        order = " ORDER BY t.id" if "id" in table.c else ""
        sql = (
            f"SELECT {', '.join(f't.{c}' for c in names)} FROM {table.name} t"
            f" JOIN unnest({arrays}) AS k({', '.join(key_cols)}) ON {on}{order}"
        )
        self.settle()
        with self.raw.cursor() as cur:
            cur.execute(sql, [list(column) for column in zip(*keys, strict=True)])
            return cur.fetchall()

    def staged(self, table: Table, key_cols: Sequence[str], keys: list[tuple]) -> Table:
        """SQLite: a temporary table holding the wanted keys, typed like the target's columns."""
        name = f"roster_keys_{table.name}"
        tmp = Table(
            name,
            MetaData(),
            *(Column(c, table.c[c].type) for c in key_cols),
            prefixes=["TEMPORARY"],
        )
        tmp.drop(self.conn, checkfirst=True)
        tmp.create(self.conn)
        self.load(tmp, key_cols, keys)
        return tmp

    # --- writing ---------------------------------------------------------------------------

    def params(self, table: Table, columns: Sequence[str], rows: list[Sequence]) -> list:
        """Python values -> what the driver stores (SQLite keeps dates and times as text)."""
        procs = [table.c[c].type.dialect_impl(self.dialect).bind_processor(self.dialect)
                 for c in columns]  # fmt: skip
        if not any(procs) or not rows:
            return rows
        # Each distinct value is converted once (dates, times and flags repeat); a column whose
        # values all come back as they went in (flags, stamps on PostgreSQL) is left as it is.
        conversions: dict[int, dict] = {}
        for i, process in enumerate(procs):
            if process is None:
                continue
            seen = {v: process(v) for v in {row[i] for row in rows} if v is not None}
            if any(type(c) is not type(v) or c != v for v, c in seen.items()):
                conversions[i] = seen | {None: None}
        if not conversions:
            return rows
        columns_of = list(zip(*rows, strict=True))
        for i, seen in conversions.items():
            columns_of[i] = [seen[v] for v in columns_of[i]]
        return list(zip(*columns_of, strict=True))

    def load(self, table: Table, columns: Sequence[str], rows: list[Sequence]) -> None:
        """Append rows (tuples in column order) to a table in one driver call."""
        if rows:
            converted = self.params(table, columns, rows)
            self._later(self._load, len(rows), table, list(columns), converted)

    def _load(self, table: Table, columns: list[str], rows: list) -> None:
        names = ", ".join(columns)
        with closing(self.raw.cursor()) as cur:
            if self.pg:
                types = self._column_types(table)
                sql = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
                if table.foreign_keys:  # the per-row key checks keep their plans
                    cur.execute(CACHED_PLANS)
                with cur.copy(sql) as copy:
                    copy.set_types([types[c] for c in columns])
                    for row in rows:
                        copy.write_row(row)
                if table.foreign_keys:
                    cur.execute(PLAN_EACH)
            else:
                marks = ", ".join("?" for _ in columns)
                cur.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)

    def _column_types(self, table: Table) -> dict[str, int]:
        """PostgreSQL type oids of a table's columns (binary COPY must name them); those of
        every roster table are read together, the first time any is needed."""
        if table.name not in self._types:
            names = sorted({table.name, *(m.__table__.name for m in _MODELS)})
            with self.raw.cursor() as cur:
                cur.execute(
                    "SELECT c.relname, a.attname, a.atttypid::int"
                    " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                    " WHERE a.attrelid = ANY(%s::regclass[]) AND a.attnum > 0"
                    " AND NOT a.attisdropped",
                    [names],
                )
                for relation, column, oid in cur:
                    self._types.setdefault(relation, {})[column] = oid
        return self._types[table.name]

    def insert(
        self, table: Table, key_cols, columns, creates: list[tuple[tuple, tuple]], *, ids: bool
    ) -> list[int] | None:
        """Create rows from (key, values) pairs; return their ids, in order, when asked."""
        stamps = [c for c in STAMPS if c in table.c and c not in columns]
        names = [*key_cols, *columns, *stamps]
        now = tuple(self.now for _ in stamps)
        if not ids:
            self.load(table, names, [(*key, *values, *now) for key, values in creates])
            return None
        if not self.pg:
            return self._insert_sqlite(table, key_cols, names, creates, now)
        self.settle()
        with self.raw.cursor() as cur:  # ids drawn up front: nothing to look up afterwards
            cur.execute(  # the sequence is named once, not looked up again for every id
                "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq)"
                " SELECT array_agg(nextval(s.seq)) FROM s, generate_series(1, %s)",
                [table.name, len(creates)],
            )
            (new_ids,) = cur.fetchone()
        new_ids.sort()
        rows = [(i, *k, *v, *now) for i, (k, v) in zip(new_ids, creates, strict=True)]
        self.load(table, ["id", *names], rows)
        return new_ids

    def _insert_sqlite(self, table: Table, key_cols, names, creates, now) -> list[int]:
        # SQLite numbers new rows past the largest id, no other writer can add rows while this
        # transaction writes, and these keys are unique: rows above the old largest id with one
        # of them are ours.
        before = self.conn.execute(select(func.max(table.c.id))).scalar() or 0
        self.load(table, names, [(*key, *values, *now) for key, values in creates])
        query = select(table.c.id, *(table.c[k] for k in key_cols)).where(table.c.id > before)
        made = {tuple(row[1:]): row[0] for row in self.conn.execute(query)}
        keys = [key for key, _ in creates]
        if not all(key in made for key in keys):  # numbering not as usual: look them up
            found, _ = self.find(table, key_cols, keys, ())
            made = {key: row[0] for key, row in found.items()}
        return [made[key] for key in keys]

    def update(self, table: Table, columns: Sequence[str], rows: list[Sequence]) -> None:
        """UPDATE ... WHERE id = ? for each row (column values, then the id last)."""
        sets = ", ".join(f"{c} = %s" if self.pg else f"{c} = ?" for c in columns)
        sql = f"UPDATE {table.name} SET {sets} WHERE id = {'%s' if self.pg else '?'}"
        self._later(self._update, len(rows), sql, self.params(table, [*columns, "id"], rows))

    def _update(self, sql: str, rows: list) -> None:
        with closing(self.raw.cursor()) as cur:
            cur.executemany(sql, rows)


def _sync(
    bulk: _Bulk,
    model,
    key_cols: tuple[str, ...],
    wanted: _Wanted,
    tally: Tally,
    *,
    maybe_stored: Callable[[tuple], bool] | None = None,
    ids: bool = True,
) -> tuple[dict[tuple, int], set[int]]:
    """Insert missing keys and update changed ones; returns {key: id} for every wanted key
    (when `ids`) and the ids created. `maybe_stored` is False for keys known to be new."""
    table = model.__table__
    if not wanted.rows:
        return {}, set()
    keys = list(wanted.rows)
    lookup = keys if maybe_stored is None else [k for k in keys if maybe_stored(k)]
    compared: set[str] = set()
    last = None
    for _, names in wanted.rows.values():
        if names is not last:  # rows mostly share one tuple of names
            compared.update(names)
            last = names
    existing, pos = bulk.find(table, key_cols, lookup, compared)
    index = {c: i for i, c in enumerate(wanted.columns)}
    found: dict[tuple, int] = {}
    creates: list[tuple[tuple, tuple]] = []
    updates: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
    stamp = ("updated_at",) if "updated_at" in table.c else ()
    getters: dict[tuple, tuple] = {}  # compared columns -> (stored getter, wanted getter)
    for key, (values, names) in wanted.rows.items():
        row = existing.get(key)
        if row is None:
            creates.append((key, values))
            continue
        found[key] = row[0]
        if names and names not in getters:
            getters[names] = (
                itemgetter(*(pos[c] for c in names)),
                itemgetter(*(index[c] for c in names)),
            )
        if not names or getters[names][0](row) == getters[names][1](values):
            tally.unchanged += 1
            continue
        changed = {c: values[index[c]] for c in names if row[pos[c]] != values[index[c]]}
        cols = tuple(sorted(changed))
        now = tuple(bulk.now for _ in stamp)
        updates[cols + stamp].append((*(changed[c] for c in cols), *now, row[0]))
        tally.updated += 1
    created: set[int] = set()
    if creates:
        new_ids = bulk.insert(table, key_cols, wanted.columns, creates, ids=ids)
        if new_ids is not None:
            found.update(zip((key for key, _ in creates), new_ids, strict=True))
            created.update(new_ids)
    tally.created += len(creates)
    for names, rows in updates.items():
        bulk.update(table, names, rows)
    return (found if ids else {}), created


def _sync_guardianships(
    bulk: _Bulk, pairs: dict[tuple[int, int], None], tally: Tally, new_students: set[int]
) -> None:
    if not pairs:
        return
    table = Guardianship.__table__
    key_cols = ("student_id", "parent_id")
    # A student created by this import has no guardians stored yet.
    lookup = sorted(p for p in pairs if p[0] not in new_students)
    stored, _ = bulk.find(table, key_cols, lookup, ())
    new = sorted(pair for pair in pairs if pair not in stored)
    bulk.load(table, key_cols, new)
    tally.created += len(new)
    tally.unchanged += len(pairs) - len(new)


def upsert_roster(
    session: Session,
    rows: Sequence[Any],
    *,
    columns: set[str],
    now: datetime,
    school_id: int | None = None,
) -> dict[str, Tally]:
    """Create or update everything the rows name; columns absent from the file are left alone.

    `school_id`: a school's own roster (its rows already checked by models.roster_scope), which
    leaves the industry and city of companies other schools use as they are.
    """
    tally = {kind: Tally() for kind in KINDS}
    if not rows:
        return tally
    bulk = _Bulk(session, now)
    try:
        _upsert(bulk, rows, columns, tally, own_school=school_id)
        bulk.settle()
    finally:
        bulk.close()
    refresh_statistics(session, _MODELS)  # the first messages after an import use them
    return tally


def _upsert(
    bulk: _Bulk,
    rows: Sequence[Any],
    columns: set[str],
    tally: dict[str, Tally],
    *,
    own_school: int | None,
):
    # Whole-column comprehensions rather than a call per row and table: a later row's value
    # simply overwrites an earlier one's, which is what "a later row wins" asks.
    names = dict.fromkeys(r.school for r in rows)
    schools = _Wanted(("city",), {(name,): (("",), ()) for name in names})
    school_id, new_schools = _sync(bulk, School, ("name",), schools, tally["school"])
    sid = {name: school_id[(name,)] for name in names}

    def old_school(key: tuple) -> bool:
        return key[0] not in new_schools

    majors = _Wanted((), {(sid[r.school], r.major): ((), ()) for r in rows if r.major})
    major_id, _ = _sync(
        bulk, Major, ("school_id", "name"), majors, tally["major"], maybe_stored=old_school
    )
    major_of = {(r.school, r.major): major_id[(sid[r.school], r.major)] for r in rows if r.major}

    # A class takes the major of the last row naming one; a row without a major leaves it be.
    in_class = [((sid[r.school], r.class_name), r) for r in rows if r.class_name]
    given = {key: major_of[(r.school, r.major)] for key, r in in_class if r.major}
    classes = _Wanted(
        ("major_id",),
        {
            key: ((given[key],), ("major_id",)) if key in given else ((None,), ())
            for key in dict.fromkeys(key for key, _ in in_class)
        },
    )
    class_id, _ = _sync(
        bulk, SchoolClass, ("school_id", "name"), classes, tally["class"], maybe_stored=old_school
    )

    each = ("name", "school_id")
    teachers = _Wanted(
        each,
        {
            (r.teacher_phone,): ((r.teacher_name, sid[r.school]), each)
            for r in rows
            if r.teacher_phone
        },
    )
    teacher_id, _ = _sync(bulk, Teacher, ("phone",), teachers, tally["teacher"])
    # A company's industry and city: the last given, else the first row's (empty) one.
    first = {r.company: r for r in reversed(rows)}
    industry = {r.company: r.industry for r in rows if r.industry}
    city = {r.company: r.city for r in rows if r.city}
    frozen: set[str] = set()
    if own_school is not None:
        bulk.settle()  # the writer thread shares the connection
        frozen = companies_elsewhere(bulk.conn, school_id=own_school, names=first)
    companies = _Wanted(
        ("industry", "city"),
        {
            (name,): (
                (industry.get(name, first[name].industry), city.get(name, first[name].city)),
                ("industry",) * (name in industry and name not in frozen)
                + ("city",) * (name in city and name not in frozen),
            )
            for name in dict.fromkeys(r.company for r in rows)
        },
    )
    company_id, new_companies = _sync(bulk, Company, ("name",), companies, tally["company"])
    # Several parents per student: the first and, when given, the second (parent2_*).
    parents = _Wanted(
        ("name",),
        {(r.parent_phone,): ((r.parent_name,), ("name",)) for r in rows if r.parent_phone}
        | {(r.parent2_phone,): ((r.parent2_name,), ("name",)) for r in rows if r.parent2_phone},
    )
    parent_id, _ = _sync(bulk, Parent, ("phone",), parents, tally["parent"])
    company_of = {name: company_id[key] for key in companies.rows for name in key}
    # A mentor works at the company of the (last) row naming them.
    at_company = ("name", "company_id")
    mentors = _Wanted(
        at_company,
        {
            (r.mentor_phone,): ((r.mentor_name, company_of[r.company]), at_company)
            for r in rows
            if r.mentor_phone
        },
    )
    mentor_id, _ = _sync(bulk, Mentor, ("phone",), mentors, tally["mentor"])

    students = _Wanted.of(
        _STUDENT_FIELDS,
        [(r.student_no,) for r in rows],
        [
            (
                r.name,
                sid[r.school],
                r.gender,
                r.phone,
                r.birth_date,
                major_of[(r.school, r.major)] if r.major else None,
                class_id[(sid[r.school], r.class_name)] if r.class_name else None,
                teacher_id[(r.teacher_phone,)] if r.teacher_phone else None,
            )
            for r in rows
        ],
        _present(columns, _STUDENT_SOURCES, _STUDENT_FIELDS),
    )
    student_id, new_students = _sync(bulk, Student, ("student_no",), students, tally["student"])

    student_of = {r.student_no: student_id[(r.student_no,)] for r in rows}
    pairs = dict.fromkeys(  # in file order, which sorts fast: new students' ids ascend
        (student_of[r.student_no], parent_id[(phone,)])
        for r in rows
        for phone in (r.parent_phone, r.parent2_phone)
        if phone
    )
    _sync_guardianships(bulk, pairs, tally["guardianship"], new_students)

    def old_student_and_company(key: tuple) -> bool:
        return key[0] not in new_students and key[1] not in new_companies

    fields = (*_PLACEMENT_FIELDS, "school_id", "mentor_id")
    terms = attrgetter(*_PLACEMENT_FIELDS)
    placements = _Wanted.of(
        fields,
        [(student_of[r.student_no], company_of[r.company], r.start_date) for r in rows],
        [
            (*terms(r), sid[r.school], mentor_id[(r.mentor_phone,)] if r.mentor_phone else None)
            for r in rows
        ],
        _present(columns, _PLACEMENT_SOURCES, fields),
    )
    _sync(
        bulk,
        Placement,
        ("student_id", "company_id", "start_date"),
        placements,
        tally["placement"],
        maybe_stored=old_student_and_company,
        ids=False,
    )


# Field -> the roster column it comes from; a field whose column is absent is not updated.
_STUDENT_FIELDS = (
    "name", "school_id", "gender", "phone", "birth_date", "major_id", "class_id", "teacher_id",
)  # fmt: skip
_STUDENT_SOURCES = {
    "gender": "gender", "phone": "phone", "birth_date": "birth_date", "major_id": "major",
    "class_id": "class", "teacher_id": "teacher_phone",
}  # fmt: skip
_PLACEMENT_FIELDS = (
    "industry", "position", "address", "city", "latitude", "longitude", "coord_system",
    "norm_lat", "norm_lng", "radius_m", "shift_start", "shift_end", "workdays", "workdays_mask",
    "end_date", "monthly_salary", "arranged_by_school", "agreement_signed", "insured",
    "matches_major", "grade", "arranged_by", "guardian_consent", "post_wage", "company_headcount",
    "post_headcount",
)  # fmt: skip
_PLACEMENT_SOURCES = {
    "industry": "industry", "position": "position", "address": "address", "city": "address",
    "radius_m": "radius_m", "workdays": "workdays", "workdays_mask": "workdays",
    "monthly_salary": "monthly_salary", "arranged_by_school": "arranged_by_school",
    "agreement_signed": "agreement_signed", "insured": "insured", "matches_major": "major",
    "grade": "grade", "arranged_by": "arranged_by", "guardian_consent": "guardian_consent",
    "post_wage": "post_wage", "company_headcount": "company_headcount",
    "post_headcount": "post_headcount", "mentor_id": "mentor_phone",
}  # fmt: skip


def _present(columns: set[str], sources: dict[str, str], fields: Sequence[str]) -> tuple:
    """The fields whose roster column is in the file (usually all of them)."""
    return tuple(f for f in fields if f not in sources or sources[f] in columns)
