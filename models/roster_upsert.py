"""Set-based create-or-update of roster rows: existing keys loaded once, bulk insert and update.

Rows are any objects with the attributes of core.roster.RosterRow (models import nothing of
ours). A value is only written when it differs from what is stored, so re-importing the same
file changes nothing, not even updated_at.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
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

IN_CHUNK = 900  # keys per IN (...) list, well below every driver's parameter limit
WRITE_CHUNK = 2000
FULL_SCAN_KEYS = 20_000  # rows per bulk statement
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


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _load_existing(session: Session, table, key_cols: tuple[str, ...], cols: set[str], keys):
    """Stored rows whose first key column is among the wanted keys: {key: row mapping}."""
    wanted = sorted({k[0] for k in keys}, key=str)
    columns = [table.c.id, *(table.c[k] for k in key_cols), *(table.c[c] for c in sorted(cols))]
    found: dict[tuple, Any] = {}
    if len(wanted) > FULL_SCAN_KEYS:  # one scan beats hundreds of IN (...) queries
        queries = [select(*columns).order_by(table.c.id)]
    else:
        queries = [
            select(*columns).where(table.c[key_cols[0]].in_(part)).order_by(table.c.id)
            for part in _chunks(wanted, IN_CHUNK)
        ]
    pos = {c.name: i for i, c in enumerate(columns)}
    width = 1 + len(key_cols)
    for query in queries:
        for row in session.execute(query):
            found.setdefault(row[1:width], row)
    return found, pos


def _sync(
    session: Session, model, key_cols: tuple[str, ...], desired: Desired, tally: Tally, now
) -> dict[tuple, int]:
    """Insert missing keys and update changed ones; returns {key: id} for every desired key."""
    table = model.__table__
    compared = {c for _, cmp in desired.values() for c in cmp}
    existing, pos = _load_existing(session, table, key_cols, compared, desired.keys())
    ids: dict[tuple, int] = {}
    creates: list[tuple[tuple, dict]] = []
    updates: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for key, (create_values, compare_values) in desired.items():
        row = existing.get(key)
        if row is None:
            values = dict(zip(key_cols, key, strict=True)) | create_values
            if "created_at" in table.c:
                values["created_at"] = now
            if "updated_at" in table.c:
                values["updated_at"] = now
            creates.append((key, values))
            continue
        ids[key] = row[0]
        if all(row[pos[c]] == value for c, value in compare_values.items()):
            tally.unchanged += 1
            continue
        values = dict(compare_values, _id=row[0])
        if "updated_at" in table.c:
            values["updated_at"] = now
        updates[tuple(sorted(values))].append(values)
        tally.updated += 1
    # Plain executemany, then one read of the new ids: RETURNING would go row by row on SQLite.
    for part in _chunks([values for _, values in creates], WRITE_CHUNK):
        session.execute(insert(table), list(part))
    if creates:
        made, _ = _load_existing(session, table, key_cols, set(), [key for key, _ in creates])
        ids.update((key, made[key][0]) for key, _ in creates)
    tally.created += len(creates)
    for names, rows in updates.items():
        sets = {n: bindparam(n) for n in names if n != "_id"}
        stmt = update(table).where(table.c.id == bindparam("_id")).values(sets)
        for part in _chunks(rows, WRITE_CHUNK):
            session.connection().execute(stmt, list(part))
    return ids


def _put(desired: Desired, key: tuple, create: dict, compare: dict) -> None:
    """Record what a row wants; later rows win, empty soft values never blank a stored one."""
    if key in desired:
        desired[key][1].update(compare)
    else:
        desired[key] = (create, dict(compare))


def _sync_guardianships(session: Session, pairs: set[tuple[int, int]], tally: Tally) -> None:
    table = Guardianship.__table__
    stored: set[tuple[int, int]] = set()
    for part in _chunks(sorted({s for s, _ in pairs}), IN_CHUNK):
        query = select(table.c.student_id, table.c.parent_id).where(table.c.student_id.in_(part))
        stored.update((s, p) for s, p in session.execute(query))
    new = [{"student_id": s, "parent_id": p} for s, p in sorted(pairs - stored)]
    for part in _chunks(new, WRITE_CHUNK):
        session.execute(insert(table), list(part))
    tally.created += len(new)
    tally.unchanged += len(pairs) - len(new)


def upsert_roster(
    session: Session, rows: Sequence[Any], *, columns: set[str], now: datetime
) -> dict[str, Tally]:
    """Create or update everything the rows name; columns absent from the file are left alone."""
    tally = {kind: Tally() for kind in KINDS}
    schools: Desired = {}
    for r in rows:
        _put(schools, (r.school,), {"city": ""}, {})
    school_id = _sync(session, School, ("name",), schools, tally["school"], now)
    sid = {r.school: school_id[(r.school,)] for r in rows}

    majors: Desired = {}
    for r in rows:
        if r.major:
            _put(majors, (sid[r.school], r.major), {}, {})
    major_id = _sync(session, Major, ("school_id", "name"), majors, tally["major"], now)

    def major_of(r) -> int | None:
        return major_id[(sid[r.school], r.major)] if r.major else None

    classes: Desired = {}
    for r in rows:
        if r.class_name:
            soft = {"major_id": major_of(r)} if r.major else {}
            _put(classes, (sid[r.school], r.class_name), {"major_id": major_of(r)}, soft)
    class_id = _sync(session, SchoolClass, ("school_id", "name"), classes, tally["class"], now)

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
    teacher_id = _sync(session, Teacher, ("phone",), teachers, tally["teacher"], now)
    parent_id = _sync(session, Parent, ("phone",), parents, tally["parent"], now)
    company_id = _sync(session, Company, ("name",), companies, tally["company"], now)

    students: Desired = {}
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
        _put(students, (r.student_no,), full, _present(full, columns, _STUDENT_SOURCES))
    student_id = _sync(session, Student, ("student_no",), students, tally["student"], now)

    pairs = {
        (student_id[(r.student_no,)], parent_id[(r.parent_phone,)]) for r in rows if r.parent_phone
    }
    _sync_guardianships(session, pairs, tally["guardianship"])

    placements: Desired = {}
    for r in rows:
        key = (student_id[(r.student_no,)], company_id[(r.company,)], r.start_date)
        full = {name: getattr(r, name) for name in _PLACEMENT_FIELDS} | {"school_id": sid[r.school]}
        _put(placements, key, full, _present(full, columns, _PLACEMENT_SOURCES))
    _sync(
        session,
        Placement,
        ("student_id", "company_id", "start_date"),
        placements,
        tally["placement"],
        now,
    )
    return tally


# Field -> the roster column it comes from; a field whose column is absent is not updated.
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


def _present(values: dict, columns: set[str], sources: dict[str, str]) -> dict:
    return {k: v for k, v in values.items() if k not in sources or sources[k] in columns}
