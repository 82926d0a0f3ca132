"""The roster parser against anything a spreadsheet can hold: every line is accepted or rejected
with its line number and a reason; the file as a whole is only refused with RosterFileError."""

from __future__ import annotations

from datetime import date, datetime, time

from hypothesis import given
from hypothesis import strategies as st

from core.roster import COLUMNS, RosterFileError, parse_roster, read_cells
from tests.fuzz.conftest import budget

GOOD = {
    "student_no": "A100", "name": "孙新生", "school": "贵州交通职业技术学院", "company": "贵阳汽车",
    "latitude": "26.5783", "longitude": "106.7135", "shift_start": "09:00", "shift_end": "18:00",
    "start_date": "2026-03-01", "end_date": "2026-07-31", "teacher_name": "李老师",
    "teacher_phone": "13800000001", "workdays": "1-5", "radius_m": "500",
}  # fmt: skip
HEADER = list(COLUMNS)
CELLS = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["", " ", "是", "否", "yes", "1-7", "8", "25:00", "2026-02-30", "-91", "nan",
                     "inf", "1e400", "１３８００", "+86 138 0000 0001", "=cmd", "﻿", "\x00"]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.times(),
    st.datetimes(min_value=datetime(1900, 1, 1)),
)  # fmt: skip


@st.composite
def rows(draw) -> list[list[object]]:
    header = draw(st.permutations(HEADER))
    lines = [list(header)]
    for _ in range(draw(st.integers(0, 6))):
        cells = [GOOD.get(column, "") for column in header]
        for i in draw(st.lists(st.integers(0, len(header) - 1), max_size=6)):
            cells[i] = draw(CELLS)
        width = draw(st.integers(0, len(header) + 2))
        lines.append([*cells, None, None][:width])
    return lines


@budget(400)
@given(rows())
def test_every_line_is_accepted_or_rejected_with_its_reason(lines):
    roster = parse_roster(lines, default_radius_m=500)
    rejected = {line for line, _ in roster.errors}
    accepted = {row.line for row in roster.rows}
    assert not rejected & accepted
    assert all(isinstance(reason, str) and reason for _, reason in roster.errors)
    for row in roster.rows:
        assert -90 <= row.latitude <= 90 and -180 <= row.longitude <= 180
        assert isinstance(row.start_date, date) and isinstance(row.shift_start, time)
        assert row.start_date <= row.end_date


@budget(300)
@given(st.binary(max_size=400), st.sampled_from([".csv", ".tsv", ".xlsx"]))
def test_any_file_is_read_or_refused_as_a_whole(tmp_path_factory, content, suffix):
    path = tmp_path_factory.mktemp("roster") / f"r{suffix}"
    path.write_bytes(content)
    try:
        parse_roster(read_cells(path), default_radius_m=500)
    except RosterFileError as exc:
        assert str(exc)


@budget(200)
@given(st.text(max_size=300))
def test_any_csv_text_under_a_header_is_read(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("roster") / "r.csv"
    path.write_text(",".join(HEADER) + "\n" + text, encoding="utf-8")
    try:
        parse_roster(read_cells(path), default_radius_m=500)
    except RosterFileError as exc:
        assert str(exc)
