"""Roster files (SPEC section 7): read CSV or XLSX, map headers, validate every row."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, time
from operator import itemgetter
from pathlib import Path

from core import roster_values as v
from core.geo import to_gcj02
from core.major_match import matches_major
from core.workdays import parse_workdays

# Canonical column -> its Chinese header (SPEC section 7).
COLUMNS: dict[str, str] = {
    "student_no": "学号",
    "name": "姓名",
    "gender": "性别",
    "phone": "手机号",
    "birth_date": "出生日期",
    "school": "学校",
    "major": "专业",
    "class": "班级",
    "teacher_name": "指导教师",
    "teacher_phone": "教师手机号",
    "parent_name": "家长姓名",
    "parent_phone": "家长手机号",
    "company": "实习单位",
    "industry": "行业",
    "position": "岗位",
    "address": "实习地址",
    "latitude": "纬度",
    "longitude": "经度",
    "coord_system": "坐标系",
    "radius_m": "签到半径",
    "shift_start": "上班时间",
    "shift_end": "下班时间",
    "workdays": "工作日",
    "start_date": "开始日期",
    "end_date": "结束日期",
    "monthly_salary": "月薪",
    "arranged_by_school": "统一安排",
    "agreement_signed": "三方协议",
    "insured": "实习保险",
    "grade": "年级",
    "arranged_by": "安排方式",
    "guardian_consent": "监护人知情同意",
    "post_wage": "同岗工资",
    "company_headcount": "单位职工人数",
    "post_headcount": "同岗人数",
    "mentor_name": "企业导师",
    "mentor_phone": "导师手机号",
    "parent2_name": "家长2姓名",
    "parent2_phone": "家长2手机号",
}
REQUIRED = (
    "student_no", "name", "school", "company", "latitude", "longitude",
    "shift_start", "shift_end", "start_date", "end_date",
)  # fmt: skip
# Other spellings seen in school spreadsheets.
_EXTRA_ALIASES = {
    "手机": "phone", "联系电话": "phone", "学生手机号": "phone", "学校名称": "school",
    "指导老师": "teacher_name", "教师姓名": "teacher_name", "老师手机号": "teacher_phone",
    "家长电话": "parent_phone", "公司": "company", "企业名称": "company", "实习企业": "company",
    "实习岗位": "position", "地址": "address", "半径": "radius_m", "月工资": "monthly_salary",
    "薪资": "monthly_salary", "学校统一安排": "arranged_by_school", "保险": "insured",
    "class_name": "class", "实习方式": "arranged_by", "监护人同意": "guardian_consent",
    "知情同意书": "guardian_consent", "同岗位工资": "post_wage", "职工人数": "company_headcount",
    "在岗职工人数": "company_headcount", "同岗位人数": "post_headcount",
    "三方协议签订": "agreement_signed", "导师姓名": "mentor_name", "企业导师姓名": "mentor_name",
    "导师电话": "mentor_phone", "企业导师手机号": "mentor_phone",
    "第二家长姓名": "parent2_name", "第二家长手机号": "parent2_phone",
    "家长二姓名": "parent2_name", "家长二手机号": "parent2_phone",
}  # fmt: skip
# Longest text each column may hold (the table's column width).
MAX_LEN = {
    "student_no": 40, "name": 60, "school": 120, "major": 120, "class": 120,
    "teacher_name": 60, "parent_name": 60, "company": 160, "industry": 60, "position": 120,
    "address": 255, "mentor_name": 60, "parent2_name": 60,
}  # fmt: skip
HEADER_SCAN_ROWS = 10  # a title row or two above the header is common in school spreadsheets
_CITY = re.compile(r"(.+?(?:省|自治区|自治州|地区|市|县|区|盟))")


def _header_key(cell: object) -> str:
    return re.sub(r"[\s\*＊:：（(].*$", "", v.text(cell)) or v.text(cell)


ALIASES: dict[str, str] = {k: k for k in COLUMNS} | {zh: k for k, zh in COLUMNS.items()}
ALIASES |= _EXTRA_ALIASES


def label(column: str) -> str:
    """A column as schools know it: the Chinese header, whichever header the file used."""
    return COLUMNS[column]


class RosterFileError(Exception):
    """The file cannot be imported at all (unreadable, or required columns missing)."""


# Not frozen: a frozen dataclass sets each of its 35 fields through object.__setattr__, which
# made building the row a quarter of the cost of validating a line; hashable all the same.
@dataclass(slots=True, unsafe_hash=True)
class RosterRow:
    """One validated roster line: a student, their people, and one placement (positional order
    is the field order below; validate() relies on it)."""

    line: int
    student_no: str
    name: str
    gender: str
    phone: str
    birth_date: date | None
    school: str
    major: str
    class_name: str
    teacher_name: str
    teacher_phone: str
    parent_name: str
    parent_phone: str
    company: str
    industry: str
    position: str
    address: str
    city: str
    latitude: float
    longitude: float
    coord_system: str
    norm_lat: float
    norm_lng: float
    radius_m: int
    shift_start: time
    shift_end: time
    workdays: str
    workdays_mask: int
    start_date: date
    end_date: date
    monthly_salary: int | None
    arranged_by_school: bool
    agreement_signed: bool | None
    insured: bool | None
    matches_major: bool | None
    grade: int | None
    arranged_by: str | None
    guardian_consent: bool | None
    post_wage: int | None
    company_headcount: int | None
    post_headcount: int | None
    mentor_name: str = ""
    mentor_phone: str = ""
    parent2_name: str = ""
    parent2_phone: str = ""


@dataclass
class Roster:
    """What a file gave: the accepted rows, the rejected lines and the columns present."""

    columns: set[str]
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)


def city_of(address: str) -> str:
    """The prefecture-level city named in an address ("贵州省贵阳市观山湖区" -> "贵阳市")."""
    for part in _CITY.findall(address.replace(" ", "")):
        if part.endswith("市"):
            return part
    return ""


# --- reading files -------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    # Excel in China saves CSV as GBK; GB18030 is its superset.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterFileError("无法识别文件编码（请另存为 UTF-8 或 GBK 编码的 CSV）")


class UnreadableRow(list):
    """A line the CSV reader could not read (e.g. a cell over its size limit): empty, with the
    reason, so that it is reported as that line's error and the lines after it still count."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


UNREADABLE = "无法读取这一行：{reason}"
FIELD_TOO_LARGE = "有单元格超过 {limit} 个字符"


def _csv_rows(path: Path) -> Iterator[list[object]]:
    content = _decode(path.read_bytes())
    first = content.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    while True:
        try:
            yield from reader
            return
        except csv.Error as exc:  # the reader goes on with the next line
            reason = str(exc)
            if "field larger than field limit" in reason:
                reason = FIELD_TOO_LARGE.format(limit=csv.field_size_limit())
            yield UnreadableRow(UNREADABLE.format(reason=reason))


def _xlsx_rows(path: Path) -> Iterator[list[object]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise RosterFileError(f"无法读取 Excel 文件：{exc}") from None
    try:
        for row in book.active.iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def read_cells(path: Path) -> Iterator[list[object]]:
    """Every row of the file, in order (line n is the n-th item)."""
    if not path.is_file():
        raise RosterFileError(f"找不到文件：{path}")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return _csv_rows(path)
    raise RosterFileError(f"不支持的文件类型 {suffix or '(无扩展名)'}：请使用 .csv 或 .xlsx")


def map_header(cells: list[object]) -> tuple[dict[int, str], list[str]]:
    """Header cells -> {cell index: column}, plus the headers that were not understood."""
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    for i, cell in enumerate(cells):
        raw = v.text(cell)
        key = ALIASES.get(raw) or ALIASES.get(raw.lower()) or ALIASES.get(_header_key(cell))
        if key and key not in mapping.values():
            mapping[i] = key
        elif raw:
            ignored.append(raw)
    return mapping, ignored


# --- validating rows -----------------------------------------------------------------------
# Rosters repeat the same dates, times, flags and workdays on every line: parse each once.

CACHE_SIZE = 4096


class _Memo(dict):
    """parse(key) remembered per distinct cell (or tuple of cells); a dict hit costs far less
    than lru_cache.

    Like lru_cache(typed=False), equal cells share an entry (1 and 1.0 and True). Bounded by
    starting afresh when full: a roster has few distinct values in the columns cached here.
    """

    __slots__ = ("parse",)

    def __init__(self, parse) -> None:
        super().__init__()
        self.parse = parse

    def __missing__(self, cell):
        if len(self) >= CACHE_SIZE:
            self.clear()
        value = self[cell] = self.parse(cell)
        return value

    def __call__(self, cell):
        try:
            return self[cell]
        except TypeError:  # an unhashable cell (never from CSV or openpyxl, but be safe)
            return self.parse(cell)


def _parsed(parse, cell, column: str, errors: list[str], *args):
    try:
        return parse(cell, *args)
    except ValueError as exc:
        errors.append(f"{label(column)} {exc}")
        return None


def _place_and_dates(cells: tuple) -> tuple[tuple, tuple[str, ...]]:
    """(coord_system, workdays text, start_date, end_date) -> their values, and the reasons
    any is wrong, in the order a row reports them."""
    datum_cell, workdays_text, start_cell, end_cell = cells
    errors: list[str] = []
    datum = _parsed(v.datum, datum_cell, "coord_system", errors)
    mask = _parsed(parse_workdays, workdays_text, "workdays", errors)
    start = _parsed(v.day, start_cell, "start_date", errors)
    end = _parsed(v.day, end_cell, "end_date", errors)
    if start and end and end < start:
        errors.append(f"{label('end_date')} {end} 早于{label('start_date')} {start}")
    return (datum, mask, start, end), tuple(errors)


# The terms of a placement, checked in this order so a row's reasons read as before.
TERMS = (
    "gender", "radius_m", "shift_start", "shift_end", "monthly_salary",
    "arranged_by_school", "agreement_signed", "insured",
)  # fmt: skip


def _radius(cell: object, default: int) -> int:
    return v.radius(cell, default=default)


_TERM_PARSERS = (
    v.gender, _radius, v.clock, v.clock, v.salary, v.flag, v.optional_flag, v.optional_flag,
)  # fmt: skip
# The compliance facts (SPEC section 12), optional: an empty cell is unknown, not "no".
FACTS = (
    "grade", "arranged_by", "guardian_consent", "post_wage", "company_headcount",
    "post_headcount",
)  # fmt: skip
_FACT_PARSERS = (v.grade, v.arrangement, v.optional_flag, v.salary, v.headcount, v.headcount)


def _terms(cells: tuple) -> tuple[tuple, tuple[str, ...]]:
    """The TERMS cells and the default radius -> their values, and the reasons any is wrong."""
    *raw, default_radius_m = cells
    errors: list[str] = []
    values = []
    for column, parse, cell in zip(TERMS, _TERM_PARSERS, raw, strict=True):
        extra = (default_radius_m,) if parse is _radius else ()
        values.append(_parsed(parse, cell, column, errors, *extra))
    return tuple(values), tuple(errors)


# Rosters repeat these on every line: each distinct combination is parsed once.
_place_and_dates_of = _Memo(_place_and_dates)
_terms_of = _Memo(_terms)


def _facts(cells: tuple) -> tuple[tuple, tuple[str, ...]]:
    """The FACTS cells -> their values, and the reasons any is wrong."""
    errors: list[str] = []
    values = tuple(
        _parsed(parse, cell, column, errors)
        for column, parse, cell in zip(FACTS, _FACT_PARSERS, cells, strict=True)
    )
    return values, tuple(errors)


_facts_of = _Memo(_facts)
_city = _Memo(city_of)
_matches = _Memo(lambda key: matches_major(*key))  # key: (major, position, industry)
_day = _Memo(v.day)
_BLANK_TEXTS = dict.fromkeys(MAX_LEN, "")
_LIMITS = tuple(MAX_LEN.items())
_SHORTEST_LIMIT = min(MAX_LEN.values())
_PEOPLE = (
    ("teacher_name", "teacher_phone"), ("parent_name", "parent_phone"),
    ("mentor_name", "mentor_phone"), ("parent2_name", "parent2_phone"),
)  # fmt: skip
_CLEAN_PHONE = v.PHONE.match


def _phone(values: dict, text: str | None, column: str, errors: list[str]) -> str:
    """A phone cell as clean digits, "" when empty or wrong (the reason joins `errors`)."""
    if not text:
        return ""
    if _CLEAN_PHONE(text):  # most numbers are clean already: nothing to strip or drop
        return text
    try:
        return v.phone(values[column])
    except ValueError as exc:
        errors.append(f"{label(column)} {exc}")
        return ""


def _field(values: dict, column: str, errors: list[str], parse, **kwargs):
    try:
        return parse(values.get(column), **kwargs)
    except ValueError as exc:
        errors.append(f"{label(column)} {exc}")
        return None


def _texts(values: dict[str, object]) -> dict[str, str]:
    """Every cell as trimmed text, and "" for the length-limited columns the file lacks."""
    try:  # CSV cells are all text: trim them in one C-level pass
        trimmed = dict(zip(values, map(str.strip, values.values()), strict=True))
    except TypeError:  # spreadsheet cells: numbers, dates, empty cells
        trimmed = {k: c.strip() if type(c) is str else v.text(c) for k, c in values.items()}
    return _BLANK_TEXTS | trimmed


def validate(line: int, values: dict[str, object], *, default_radius_m: int) -> RosterRow:
    """Build a RosterRow or raise ValueError naming every bad column."""
    errors: list[str] = []
    txt = _texts(values)
    if not all(map(txt.get, REQUIRED)):
        for column in REQUIRED:
            if not txt.get(column) and not isinstance(values.get(column), date | time):
                errors.append(f"缺少{label(column)}")
    if max(map(len, txt.values())) > _SHORTEST_LIMIT:
        for column, limit in _LIMITS:
            if len(txt[column]) > limit:
                errors.append(f"{label(column)} 太长（最多 {limit} 个字）")
    if errors:
        raise ValueError("；".join(errors))
    people = []
    for name_column, phone_column in _PEOPLE:
        name, phone_text = txt[name_column], txt.get(phone_column)
        phone = _phone(values, phone_text, phone_column, errors)
        if name and not phone_text:
            errors.append(f"有{label(name_column)}时必须填写{label(phone_column)}")
        if phone and not name:
            errors.append(f"有{label(phone_column)}时必须填写{label(name_column)}")
        people.append(phone)
    teacher_phone, parent_phone, mentor_phone, parent2_phone = people
    if parent2_phone and parent2_phone == parent_phone:
        errors.append(f"{label('parent2_phone')} 与{label('parent_phone')}相同")
    phone = _phone(values, txt.get("phone"), "phone", errors)
    try:
        lat = v.coordinate(values.get("latitude"), limit=90)
    except ValueError as exc:
        errors.append(f"{label('latitude')} {exc}")
        lat = None
    try:
        lng = v.coordinate(values.get("longitude"), limit=180)
    except ValueError as exc:
        errors.append(f"{label('longitude')} {exc}")
        lng = None
    if lat is not None and lng is not None and abs(lat) > abs(lng) > 0 and abs(lat) > 60:
        errors.append(f"{label('latitude')} 与 {label('longitude')} 可能填反了")
    get = values.get
    workdays_text = txt.get("workdays") or "1-5"
    place, reasons = _place_and_dates_of(
        (get("coord_system"), workdays_text, get("start_date"), get("end_date"))
    )
    errors += reasons
    birth = _field(values, "birth_date", errors, _day) if txt.get("birth_date") else None
    terms, reasons = _terms_of((*map(get, TERMS), default_radius_m))
    errors += reasons
    facts, reasons = _facts_of(tuple(map(get, FACTS)))
    errors += reasons
    if errors:
        raise ValueError("；".join(errors))
    datum, mask, start, end = place
    gender, radius_m, shift_start, shift_end, salary, arranged, signed, insured = terms
    if facts[1] is not None and not txt.get("arranged_by_school"):
        arranged = facts[1] == "school"  # 安排方式 says it when 统一安排 is not given
    norm_lat, norm_lng = to_gcj02(lat, lng, datum)
    major, position, industry = txt["major"], txt["position"], txt["industry"]
    address = txt["address"]
    return RosterRow(
        line, txt["student_no"], txt["name"], gender, phone, birth, txt["school"], major,
        txt["class"], txt["teacher_name"], teacher_phone, txt["parent_name"], parent_phone,
        txt["company"], industry, position, address, _city(address), lat, lng, datum,
        norm_lat, norm_lng, radius_m, shift_start, shift_end, workdays_text, mask, start, end,
        salary, arranged, signed, insured, _matches((major, position, industry)), *facts,
        txt["mentor_name"], mentor_phone, txt["parent2_name"], parent2_phone,
    )  # fmt: skip


def parse_roster(cells: Iterable[list[object]], *, default_radius_m: int) -> Roster:
    """Find the header, then validate every following row; duplicates of a student_no fail."""
    lines = iter(enumerate(cells, start=1))
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    for line, row in lines:
        mapping, ignored = map_header(row)
        if "student_no" in mapping.values() or line >= HEADER_SCAN_ROWS:
            break
    missing = [c for c in REQUIRED if c not in mapping.values()]
    if missing:
        raise RosterFileError("缺少必需的列：" + "、".join(label(c) for c in missing))
    columns = set(mapping.values())
    if "arranged_by" in columns:
        columns.add("arranged_by_school")  # derived from 安排方式 when 统一安排 is absent
    roster = Roster(columns=columns, ignored_headers=ignored)
    first_line: dict[str, int] = {}
    key_cell = next(i for i, col in mapping.items() if col == "student_no")
    names, pick, width = list(mapping.values()), itemgetter(*mapping), max(mapping) + 1
    for line, row in lines:
        if not (key_cell < len(row) and v.text(row[key_cell])) and not any(map(v.text, row)):
            if type(row) is UnreadableRow:
                roster.errors.append((line, row.reason))
            continue  # blank lines are skipped, not errors
        if len(row) >= width:
            values = dict(zip(names, pick(row), strict=True))
        else:  # a short line: the missing cells are empty
            values = {col: row[i] for i, col in mapping.items() if i < len(row)}
        try:
            parsed = validate(line, values, default_radius_m=default_radius_m)
        except ValueError as exc:
            roster.errors.append((line, str(exc)))
            continue
        earlier = first_line.setdefault(parsed.student_no, line)
        if earlier != line:
            roster.errors.append(
                (line, f"{label('student_no')} {parsed.student_no} 与第 {earlier} 行重复")
            )
            continue
        roster.rows.append(parsed)
    return roster
