"""The `shixi` command line end to end: migrate, import, invite, user add, token create."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app
from core.accounts import token_digest
from models import ApiToken, Finding, InviteCode, Placement
from models.db import make_engine
from models.migrate import head_revision

MIXED = Path(__file__).parent / "fixtures" / "roster" / "three_good_three_bad.csv"


@pytest.fixture
def shixi(db_url, tmp_path, monkeypatch):
    """Run `shixi ...` against the test database through a real config file."""
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    monkeypatch.setenv("SHIXI_CONFIG", str(config))
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return run


@pytest.fixture
def imported(shixi):
    result = shixi("import", str(MIXED), "--quiet")
    assert result.exit_code == 1, result.output  # some rows are rejected on purpose
    return shixi


def codes(db_url) -> set[str]:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        found = set(conn.execute(select(InviteCode.code)).scalars())
    engine.dispose()
    return found


def test_migrate_on_a_fresh_sqlite_file(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "new.db"}"\n', encoding="utf-8")
    monkeypatch.setenv("SHIXI_CONFIG", str(config))

    result = CliRunner().invoke(app, ["migrate"])

    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output and (tmp_path / "new.db").is_file()


def test_migrate_is_idempotent_on_both_databases(shixi):
    assert shixi("migrate").exit_code == 0
    assert shixi("migrate").exit_code == 0


def test_import_prints_the_summary_and_each_rejected_line(shixi, db_url):
    result = shixi("import", str(MIXED), "--quiet")

    assert result.exit_code == 1
    assert "实习岗位: 新建 3" in result.output
    for line in (5, 6, 7):
        assert f"第 {line} 行: " in result.output
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert len(conn.execute(select(Placement.id)).all()) == 3
    engine.dispose()


def test_import_of_an_unreadable_file_exits_2_naming_missing_columns(shixi, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("学号,姓名\nS1,张三\n", encoding="utf-8")

    result = shixi("import", str(path))

    assert result.exit_code == 2 and "纬度" in result.output


def test_invite_student_prints_a_code_as_the_last_word(imported, db_url):
    result = imported("invite", "student", "2023010101")

    assert result.exit_code == 0, result.output
    assert result.output.split()[-1] in codes(db_url)


def test_invite_teacher_and_parent_print_codes(imported, db_url):
    teacher = imported("invite", "teacher", "13908510001")
    parent = imported("invite", "parent", "2023010102")

    assert teacher.exit_code == 0 and parent.exit_code == 0
    assert {teacher.output.split()[-1], parent.output.split()[-1]} <= codes(db_url)


def test_invite_all_students_writes_a_csv(imported, tmp_path, db_url):
    out = tmp_path / "codes.csv"

    result = imported("invite", "student", "--all", "--out", str(out))

    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["student_no", "name", "class", "code"]
    assert {r["student_no"] for r in rows} == {"2023010101", "2023010102", "2023010103"}
    assert rows[0]["class"] == "汽修2301" and {r["code"] for r in rows} <= codes(db_url)


def test_an_unknown_student_is_a_clear_error(imported):
    result = imported("invite", "student", "NOPE")

    assert result.exit_code == 1 and "找不到学号为 NOPE 的学生" in result.output


def test_user_add_then_token_create_stores_the_tokens_digest(imported, db_url):
    added = imported(
        "user", "add", "jt_admin", "--role", "school", "--school", "贵州交通职业技术学院",
        input="correct-horse-9\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output

    created = imported("token", "create", "jt_admin")

    assert created.exit_code == 0, created.output
    token = created.output.split()[-1]
    engine = make_engine(db_url)
    with engine.connect() as conn:
        digests = set(conn.execute(select(ApiToken.token_hash)).scalars())
    engine.dispose()
    assert token.startswith("sx_") and token_digest(token) in digests


def test_user_add_with_an_unknown_school_fails_clearly(imported):
    result = imported(
        "user", "add", "x", "--role", "school", "--school", "不存在的学校", input="password123\n"
    )

    assert result.exit_code == 1 and "找不到学校" in result.output


def test_compliance_check_records_findings_once_and_reports_them(imported, db_url):
    first = imported("compliance", "check", "--at", "2026-03-02T06:30")
    assert first.exit_code == 0, first.output
    # The fixture's 1-6 shifts of 08:30-17:30 make 48-hour weeks: overtime.
    assert "新增" in first.output and "检查完成" in first.output
    again = imported("compliance", "check", "--at", "2026-03-02T07:00")
    assert "新增 0 项" in again.output
    engine = make_engine(db_url)
    with engine.connect() as conn:
        rules = conn.execute(select(Finding.rule)).scalars().all()
    engine.dispose()
    assert "overtime" in rules and len(rules) == int(first.output.split("新增 ")[1].split(" ")[0])


def test_compliance_check_refuses_a_malformed_time(imported):
    result = imported("compliance", "check", "--at", "昨天")
    assert result.exit_code == 2 and "无法识别的时间" in result.output
