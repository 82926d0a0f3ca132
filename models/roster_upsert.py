"""Set-based create-or-update of roster rows: keys staged in a temp table, bulk driver writes.

Rows are any objects with the attributes of core.roster.RosterRow (models import nothing of
ours). A value is only written when it differs from what is stored, so re-importing the same
file changes nothing, not even updated_at.

Speed comes from few round trips, whatever the file's size: each table's wanted keys are
loaded into a temporary table (COPY on PostgreSQL, one executemany on SQLite) and matched with
one join; new rows go in the same way, straight through the driver, without ORM objects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Column, MetaData, Table, and_, select
from sqlmodel import Session

from models.people import (
    Company,
    Guardianship,
    Major,
    Parent,
    School,
    SchoolClass,
    Student,
    Teacher,
)
from models.placement import Placement

KINDS = (
    "school", "major", "class", "teacher", "parent", "company",
    "student", "guardianship", "placement",
)  # fmt: skip
KIND_LABELS = {
    "school": "学校", "major": "专业", "class": "班级", "teacher": "教师", "parent": "家长",
    "company": "实习单位", "student": "学生", "guardianship": "家长关系", "placement": "实习岗位",
}  # fmt: skip


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


# key -> (values used when creating, values compared and written when updating)
Desired = dict[tuple, tuple[dict[str, Any], dict[str, Any]]]


class _Bulk:
    """The session's own connection driven directly: temp tables, COPY or executemany."""

    def __init__(self, session: Session) -> None:
        session.flush()  # the console may hold pending ORM changes in the same transaction
        self.conn = session.connection()
        self.dialect = self.conn.dialect
        self.pg = self.dialect.name == "postgresql"
        self.raw = self.conn.connection.dbapi_connection  # same transaction as the session

    def params(self, table: Table, columns: Sequence[str], rows: list[Sequence]) -> list:
        """Python values -> what the driver stores (SQLite keeps dates and times as text)."""
        procs = [table.c[c].type.dialect_impl(self.dialect).bind_processor(self.dialect)
                 for c in columns]  # fmt: skip
        if not any(procs) or not rows:
            return rows
        # Column by column, each distinct value converted once: dates, times and flags repeat.
        converted = []
        for values, process in zip(zip(*rows, strict=True), procs, strict=True):
            if process is None:
                converted.append(values)
                continue
            seen: dict = {None: None}
            converted.append(
                [seen[v] if v in seen else seen.setdefault(v, process(v)) for v in values]
            )
        return list(zip(*converted, strict=True))

    def load(self, table: Table, columns: Sequence[str], rows: list[Sequence]) -> None:
        """Append rows (tuples in column order) to a table in one driver call."""
        if not rows:
            return
        names = ", ".join(columns)
        cur = self.raw.cursor()
        try:
            if self.pg:
                with cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                    for row in self.params(table, columns, rows):
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
                cur.executemany(sql, self.params(table, columns, rows))
        finally:
            cur.close()

    def update(self, table: Table, columns: Sequence[str], rows: list[Sequence]) -> None:
        """UPDATE ... WHERE id = ? for each row (column values, then the id last)."""
        sets = ", ".join(f"{c} = %s" if self.pg else f"{c} = ?" for c in columns)
        sql = f"UPDATE {table.name} SET {sets} WHERE id = {'%s' if self.pg else '?'}"
        cur = self.raw.cursor()
        try:
            cur.executemany(sql, self.params(table, [*columns, "id"], rows))
        finally:
            cur.close()

    def staged(self, table: Table, key_cols: Sequence[str], keys: Iterable[tuple]) -> Table:
        """A temporary table holding the wanted keys, typed like the target's columns."""
        name = f"roster_keys_{table.name}"
        tmp = Table(
            name,
            MetaData(),
            *(Column(c, table.c[c].type) for c in key_cols),
            prefixes=["TEMPORARY"],
        )
        tmp.drop(self.conn, checkfirst=True)
        tmp.create(self.conn)
        self.load(tmp, key_cols, list(keys))
        if self.pg:  # a temp table has no statistics until analysed; the join plan needs them
            self.conn.exec_driver_sql(f"ANALYZE {name}")
        return tmp


def _matching(bulk: _Bulk, table: Table, tmp: Table, key_cols, cols) -> tuple[dict, dict]:
    """Stored rows whose key is in the staged table: {key: row}, and {column: position}."""
    columns = [table.c.id, *(table.c[k] for k in key_cols), *(table.c[c] for c in sorted(cols))]
    on = and_(*(table.c[k] == tmp.c[k] for k in key_cols))
    query = select(*columns).select_from(table.join(tmp, on)).order_by(table.c.id)
    width = 1 + len(key_cols)
    found: dict[tuple, Any] = {}
    for row in bulk.conn.execute(query).all():
        found.setdefault(tuple(row[1:width]), row)
    return found, {c.name: i for i, c in enumerate(columns)}


def _sync(
    bulk: _Bulk, model, key_cols: tuple[str, ...], desired: Desired, tally: Tally, now
) -> dict[tuple, int]:
    """Insert missing keys and update changed ones; returns {key: id} for every desired key."""
    table = model.__table__
    if not desired:
        return {}
    compared = {c for _, cmp in desired.values() for c in cmp}
    tmp = bulk.staged(table, key_cols, desired.keys())
    existing, pos = _matching(bulk, table, tmp, key_cols, compared)
    ids: dict[tuple, int] = {}
    creates: list[tuple[tuple, dict]] = []
    updates: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
    stamp = ("updated_at",) if "updated_at" in table.c else ()
    getters: dict[tuple, tuple] = {}  # compared columns -> (stored getter, wanted getter)
    for key, (create_values, compare_values) in desired.items():
        row = existing.get(key)
        if row is None:
            creates.append((key, create_values | compare_values))  # later rows win here too
            continue
        ids[key] = row[0]
        names = tuple(compare_values)
        if names and names not in getters:
            getters[names] = (itemgetter(*(pos[c] for c in names)), itemgetter(*names))
        if not names or getters[names][0](row) == getters[names][1](compare_values):
            tally.unchanged += 1
            continue
        changed = {c: v for c, v in compare_values.items() if row[pos[c]] != v}
        names = tuple(sorted(changed))
        updates[names + stamp].append((*(changed[n] for n in names), *(now for _ in stamp), row[0]))
        tally.updated += 1
    if creates:
        _insert(bulk, table, key_cols, creates, now)
        made, _ = _matching(bulk, table, tmp, key_cols, set())
        ids.update((key, made[key][0]) for key, _ in creates)
    tally.created += len(creates)
    for names, rows in updates.items():
        bulk.update(table, names, rows)
    tmp.drop(bulk.conn)
    return ids


def _insert(bulk: _Bulk, table: Table, key_cols, creates: list[tuple[tuple, dict]], now) -> None:
    union = dict.fromkeys(creates[0][1])
    for _, values in creates:
        if values.keys() != union.keys():  # a merged duplicate may name more columns
            union |= dict.fromkeys(values)
    names = list(union)
    stamps = [c for c in ("created_at", "updated_at") if c in table.c and c not in names]
    defaults = {c: _default(table.c[c], now) for c in names}
    pick = itemgetter(*names) if len(names) > 1 else None
    now_values = tuple(now for _ in stamps)
    rows = []
    for key, values in creates:
        if pick is not None and len(values) == len(names):  # the usual case: every column
            rows.append((*key, *pick(values), *now_values))
        else:
            rows.append((*key, *(values.get(c, defaults[c]) for c in names), *now_values))
    bulk.load(table, [*key_cols, *names, *stamps], rows)


def _default(column: Column, now: datetime):
    if column.name in ("created_at", "updated_at"):
        return now
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


def _put(desired: Desired, key: tuple, create: dict, compare: dict) -> None:
    """Record what a row wants; later rows win, empty soft values never blank a stored one."""
    first = desired.get(key)
    if first is None:
        desired[key] = (create, compare)  # shared, never changed in place: merges copy
    else:
        desired[key] = (first[0], first[1] | compare)


def _sync_guardianships(bulk: _Bulk, pairs: set[tuple[int, int]], tally: Tally) -> None:
    if not pairs:
        return
    table = Guardianship.__table__
    key_cols = ("student_id", "parent_id")
    tmp = bulk.staged(table, key_cols, sorted(pairs))
    on = and_(*(table.c[k] == tmp.c[k] for k in key_cols))
    query = select(table.c.student_id, table.c.parent_id).select_from(table.join(tmp, on))
    stored = {tuple(row) for row in bulk.conn.execute(query)}
    new = sorted(pairs - stored)
    bulk.load(table, key_cols, new)
    tmp.drop(bulk.conn)
    tally.created += len(new)
    tally.unchanged += len(pairs) - len(new)


def upsert_roster(
    session: Session, rows: Sequence[Any], *, columns: set[str], now: datetime
) -> dict[str, Tally]:
    """Create or update everything the rows name; columns absent from the file are left alone."""
    tally = {kind: Tally() for kind in KINDS}
    if not rows:
        return tally
    bulk = _Bulk(session)
    schools: Desired = {}
    for r in rows:
        _put(schools, (r.school,), {"city": ""}, {})
    school_id = _sync(bulk, School, ("name",), schools, tally["school"], now)
    sid = {r.school: school_id[(r.school,)] for r in rows}

    majors: Desired = {}
    for r in rows:
        if r.major:
            _put(majors, (sid[r.school], r.major), {}, {})
    major_id = _sync(bulk, Major, ("school_id", "name"), majors, tally["major"], now)

    def major_of(r) -> int | None:
        return major_id[(sid[r.school], r.major)] if r.major else None

    classes: Desired = {}
    for r in rows:
        if r.class_name:
            soft = {"major_id": major_of(r)} if r.major else {}
            _put(classes, (sid[r.school], r.class_name), {"major_id": major_of(r)}, soft)
    class_id = _sync(bulk, SchoolClass, ("school_id", "name"), classes, tally["class"], now)

    teachers: Desired = {}
    parents: Desired = {}
    companies: Desired = {}
    for r in rows:
        if r.teacher_phone:
            values = {"name": r.teacher_name, "school_id": sid[r.school]}
            _put(teachers, (r.teacher_phone,), values, values)
        if r.parent_phone:
            _put(parents, (r.parent_phone,), {"name": r.parent_name}, {"name": r.parent_name})
        soft = {k: getattr(r, k) for k in ("industry", "city") if getattr(r, k)}
        _put(companies, (r.company,), {"industry": r.industry, "city": r.city}, soft)
    teacher_id = _sync(bulk, Teacher, ("phone",), teachers, tally["teacher"], now)
    parent_id = _sync(bulk, Parent, ("phone",), parents, tally["parent"], now)
    company_id = _sync(bulk, Company, ("name",), companies, tally["company"], now)

    students: Desired = {}
    present = _present(columns, _STUDENT_SOURCES, _STUDENT_FIELDS)
    for r in rows:
        full = {
            "name": r.name,
            "school_id": sid[r.school],
            "gender": r.gender,
            "phone": r.phone,
            "birth_date": r.birth_date,
            "major_id": major_of(r),
            "class_id": class_id[(sid[r.school], r.class_name)] if r.class_name else None,
            "teacher_id": teacher_id[(r.teacher_phone,)] if r.teacher_phone else None,
        }
        _put(students, (r.student_no,), full, present(full))
    student_id = _sync(bulk, Student, ("student_no",), students, tally["student"], now)

    pairs = {
        (student_id[(r.student_no,)], parent_id[(r.parent_phone,)]) for r in rows if r.parent_phone
    }
    _sync_guardianships(bulk, pairs, tally["guardianship"])

    placements: Desired = {}
    fields = (*_PLACEMENT_FIELDS, "school_id")
    present = _present(columns, _PLACEMENT_SOURCES, fields)
    terms = attrgetter(*_PLACEMENT_FIELDS)
    for r in rows:
        key = (student_id[(r.student_no,)], company_id[(r.company,)], r.start_date)
        full = dict(zip(fields, (*terms(r), sid[r.school]), strict=True))
        _put(placements, key, full, present(full))
    _sync(
        bulk,
        Placement,
        ("student_id", "company_id", "start_date"),
        placements,
        tally["placement"],
        now,
    )
    return tally


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
    "matches_major",
)  # fmt: skip
_PLACEMENT_SOURCES = {
    "industry": "industry", "position": "position", "address": "address", "city": "address",
    "radius_m": "radius_m", "workdays": "workdays", "workdays_mask": "workdays",
    "monthly_salary": "monthly_salary", "arranged_by_school": "arranged_by_school",
    "agreement_signed": "agreement_signed", "insured": "insured", "matches_major": "major",
}  # fmt: skip


def _present(columns: set[str], sources: dict[str, str], fields: Sequence[str]):
    """A filter keeping the values whose roster column is in the file (usually all of them)."""
    kept = [f for f in fields if f not in sources or sources[f] in columns]
    if len(kept) == len(fields):
        return lambda values: values
    pick = itemgetter(*kept)
    return lambda values: dict(zip(kept, pick(values), strict=True))
