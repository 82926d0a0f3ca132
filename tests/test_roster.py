"""Roster import: validation with line numbers, idempotent re-import, updates, CSV/XLSX, scale."""

from __future__ import annotations

import csv
from datetime import date, datetime, time
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlmodel import SQLModel

from api.commands.roster import import_file, summary_lines
from core import roster_values as v
from core.major_match import matches_major
from core.roster import COLUMNS, RosterFileError, city_of, parse_roster, read_cells
from models import Company, Guardianship, Parent, Placement, SchoolClass, Student, Teacher

FIXTURES = Path(__file__).parent / "fixtures" / "roster"
MIXED = FIXTURES / "three_good_three_bad.csv"


def table_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        }


def stamps(engine) -> list:
    with engine.connect() as conn:
        rows = conn.execute(select(Placement.id, Placement.updated_at).order_by(Placement.id))
        return list(rows)


def test_three_good_and_three_bad_rows_create_exactly_three_placements(settings, engine):
    roster, tally = import_file(settings, engine, MIXED)

    assert table_counts(engine)["placements"] == 3
    assert tally["placement"].created == 3
    assert [line for line, _ in roster.errors] == [5, 6, 7]
    reasons = dict(roster.errors)
    assert "纬度" in reasons[5] and "经度" in reasons[5]
    assert "手机号" in reasons[6] and "结束日期" in reasons[6]
    assert "上班时间" in reasons[6]
    assert "坐标系" in reasons[7] and "月薪" in reasons[7] and "coord_system" not in reasons[7]
    printed = "\n".join(summary_lines(roster, tally))
    for line in (5, 6, 7):
        assert f"第 {line} 行: " in printed


def test_reimporting_the_same_file_changes_nothing(settings, engine):
    import_file(settings, engine, MIXED)
    counts, before = table_counts(engine), stamps(engine)

    _, tally = import_file(settings, engine, MIXED)

    counts_after = table_counts(engine)
    counts.pop("audit_log"), counts_after.pop("audit_log")  # each import is itself audited
    assert counts_after == counts
    assert stamps(engine) == before
    assert all(t.created == 0 and t.updated == 0 for t in tally.values())


def test_accepted_rows_are_normalised_and_linked(settings, engine, session):
    import_file(settings, engine, MIXED)

    student = session.execute(select(Student).where(Student.student_no == "2023010101")).scalar()
    assert student.phone == "13808510001"
    parent = session.execute(select(Parent).where(Parent.phone == "13708510001")).scalar()
    assert session.get(Guardianship, (student.id, parent.id)) is not None
    teacher = session.get(Teacher, student.teacher_id)
    assert (teacher.name, teacher.phone) == ("李明", "13908510001")
    wgs = session.execute(
        select(Placement).join(Student).where(Student.student_no == "2023010103")
    ).scalar()
    assert wgs.coord_system == "wgs84" and wgs.norm_lat != wgs.latitude  # moved into GCJ-02
    assert wgs.workdays_mask == 0b10101 and wgs.radius_m == 300 and wgs.monthly_salary == 4200
    assert wgs.matches_major is True and wgs.city == "遵义市"
    default = session.execute(
        select(Placement).join(Student).where(Student.student_no == "2023010102")
    ).scalar()
    assert default.radius_m == settings.checkin.default_radius_m
    assert default.shift_start == time(8, 30) and default.arranged_by_school is True
    company = session.execute(
        select(Company).where(Company.name == "遵义顺达物流有限公司")
    ).scalar()
    assert company.industry == "物流"


def test_a_changed_row_updates_its_placement_and_student_in_place(settings, engine, tmp_path):
    import_file(settings, engine, MIXED)
    before = {pid: stamp for pid, stamp in stamps(engine)}
    text = MIXED.read_text(encoding="utf-8").splitlines()
    text[1] = text[1].replace('"3,500"', "3800").replace("汽修2301", "汽修2302")
    changed = tmp_path / "changed.csv"
    changed.write_text("\n".join(text) + "\n", encoding="utf-8")

    _, tally = import_file(settings, engine, changed)

    assert tally["placement"].updated == 1 and tally["placement"].created == 0
    assert tally["student"].updated == 1 and tally["class"].created == 1
    with engine.connect() as conn:
        row = conn.execute(
            select(Placement.id, Placement.monthly_salary, Placement.updated_at, SchoolClass.name)
            .join(Student, Student.id == Placement.student_id)
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .where(Student.student_no == "2023010101")
        ).one()
    assert row.monthly_salary == 3800 and row.name == "汽修2302"
    assert row.updated_at > before[row.id]
    assert table_counts(engine)["placements"] == 3


def test_xlsx_with_chinese_headers_a_title_row_and_real_date_cells(settings, engine, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["2026 届顶岗实习名册"])  # a title row above the header
    sheet.append([f" {COLUMNS[c]} " for c in COLUMNS])
    values = {
        "student_no": 2024020301, "name": "杨雪", "gender": "女", "phone": 13985100001,
        "birth_date": datetime(2006, 5, 1), "school": "贵州电子信息职业技术学院",
        "major": "软件技术", "class": "软件2401", "teacher_name": "吴刚",
        "teacher_phone": "139-8510-0002", "parent_name": "杨父", "parent_phone": "13985100003",
        "company": "贵阳黔程信息技术有限公司", "industry": "信息技术", "position": "软件测试员",
        "address": "贵州省贵阳市观山湖区林城西路1号", "latitude": 26.6463, "longitude": 106.6285,
        "coord_system": "bd09", "radius_m": 800, "shift_start": time(9, 0),
        "shift_end": datetime(1899, 12, 30, 18, 0), "workdays": "1-5",
        "start_date": datetime(2026, 3, 2), "end_date": date(2026, 8, 31),
        "monthly_salary": 4500.0, "arranged_by_school": "否", "agreement_signed": "是",
        "insured": True,
    }  # fmt: skip
    sheet.append([values.get(c) for c in COLUMNS])  # the compliance columns left empty
    path = tmp_path / "名册.xlsx"
    book.save(path)

    roster, tally = import_file(settings, engine, path)

    assert roster.errors == [] and tally["placement"].created == 1
    row = roster.rows[0]
    assert row.line == 3 and row.student_no == "2024020301" and row.phone == "13985100001"
    assert row.shift_end == time(18, 0) and row.start_date == date(2026, 3, 2)
    assert row.teacher_phone == "13985100002" and row.insured and not row.arranged_by_school
    assert row.coord_system == "bd09" and abs(row.norm_lat - row.latitude) > 0.001


def test_gbk_csv_from_excel_is_read(settings, engine, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(MIXED.read_text(encoding="utf-8").encode("gbk"))

    roster, _ = import_file(settings, engine, path)

    assert len(roster.rows) == 3 and roster.rows[0].name == "王芳"


def test_missing_columns_make_the_file_unreadable_naming_them(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("学号,姓名,学校\nS1,张三,某校\n", encoding="utf-8")

    with pytest.raises(RosterFileError, match=r"实习单位、纬度"):
        parse_roster(read_cells(path), default_radius_m=500)


@pytest.mark.parametrize("name", ["missing.csv", "roster.pdf"])
def test_a_missing_or_foreign_file_is_a_clear_error(tmp_path, name):
    if name.endswith(".pdf"):
        (tmp_path / name).write_bytes(b"%PDF-1.4")
    with pytest.raises(RosterFileError):
        read_cells(tmp_path / name)


def test_duplicate_student_no_rejects_the_later_row():
    header = list(COLUMNS)
    row = ["S1", "张三", "男", "", "", "某校", "", "", "", "", "", "", "某公司", "", "", "",
           "26.5", "106.7", "", "", "08:00", "17:00", "1-5", "2026-03-01", "2026-06-30", "",
           "", "", ""]  # fmt: skip
    roster = parse_roster([header, row, row], default_radius_m=500)

    assert len(roster.rows) == 1
    assert roster.errors == [(3, "学号 S1 与第 2 行重复")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+86 138-0851-0001", "13808510001"), ("8613808510001", "13808510001"), (13808510001.0,
     "13808510001")],
)  # fmt: skip
def test_phones_are_normalised(raw, expected):
    assert v.phone(raw) == expected


@pytest.mark.parametrize("raw", ["12808510001", "1380851000", "电话"])
def test_bad_phones_are_rejected(raw):
    with pytest.raises(ValueError, match="手机号"):
        v.phone(raw)


def test_cell_parsers_accept_the_common_spellings():
    assert v.salary("3,500") == v.salary("3500元") == v.salary(3500.0) == 3500
    assert v.salary("") is None
    assert v.day("2026/3/1") == v.day("2026年3月1日") == date(2026, 3, 1)
    assert v.clock("8:30") == v.clock("08：30") == time(8, 30)
    assert v.flag("是") and v.flag("yes") and v.flag(1) and not v.flag("否") and not v.flag("")
    assert v.gender("F") == "女" and v.datum("WGS-84") == "wgs84"
    assert city_of("贵州省黔东南苗族侗族自治州凯里市开发区") == "凯里市"
    with pytest.raises(ValueError):
        v.salary("-1")


def test_matches_major_uses_a_shared_field():
    assert matches_major("汽车检测与维修技术", "汽车维修工", "汽车") is True
    assert matches_major("电子商务", "直播助理", "商贸") is True
    assert matches_major("电子商务", "SMT操作员", "电子") is False
    assert matches_major("", "汽车维修工", "汽车") is None


def write_big_roster(path: Path, rows: int) -> None:
    """A generated roster: 7 schools, many classes and companies, unique phones."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS.keys())
        for i in range(rows):
            school = f"第{i % 7 + 1}职业技术学院"
            out.writerow([
                f"S{i:07d}", f"学生{i}", "男" if i % 2 else "女", f"138{i:08d}", "2005-01-01",
                school, "汽车检测与维修技术", f"汽修{i % 300:03d}", f"教师{i // 30}",
                f"139{i // 30:08d}", f"家长{i}", f"137{i:08d}", f"公司{i % 2000}", "汽车",
                "汽车维修工", "贵州省贵阳市观山湖区", 26.5 + (i % 100) / 1000, 106.7, "gcj02",
                500, "08:30", "17:30", "1-5", "2026-03-01", "2026-06-30", 3500, "是", "是", "是",
            ])  # fmt: skip


def test_twenty_thousand_rows_import_on_sqlite(sqlite_url, tmp_path):
    from core.settings import Settings
    from models.db import make_engine

    path = tmp_path / "big.csv"
    write_big_roster(path, 20_000)
    settings = Settings(database={"url": sqlite_url})
    engine = make_engine(sqlite_url)

    roster, tally = import_file(settings, engine, path)

    assert roster.errors == []
    assert tally["placement"].created == 20_000 and tally["student"].created == 20_000
    assert tally["school"].created == 7 and tally["teacher"].created == 667
    _, again = import_file(settings, engine, path)
    assert again["placement"].unchanged == 20_000 and again["placement"].updated == 0
    engine.dispose()


def test_an_import_leaves_postgresqls_planner_statistics_current(settings, engine, tmp_path):
    """The first messages after an import (a class binding at once) must not run on plans
    made for empty tables while autovacuum has not yet come round."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's statistics")
    path = tmp_path / "roster.csv"
    write_big_roster(path, 300)
    import_file(settings, engine, path)
    with engine.connect() as conn:
        estimated = {
            table: conn.exec_driver_sql(
                f"SELECT reltuples FROM pg_class WHERE oid = '{table}'::regclass"
            ).scalar()
            for table in ("students", "placements", "teachers", "classes")
        }
    assert estimated == {"students": 300, "placements": 300, "teachers": 10, "classes": 300}
