"""`shixi invite` for every role: each of a student's parents, a company mentor, a school admin."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import codes, shixi  # noqa: F401  (the fixture)

ROSTER = Path(__file__).parent / "fixtures" / "roster" / "mentors_and_parents.csv"


@pytest.fixture
def roles(shixi):  # noqa: F811
    result = shixi("import", str(ROSTER), "--quiet")
    assert result.exit_code == 1, result.output  # two rows are rejected on purpose
    return shixi


def test_each_parent_of_a_student_gets_their_own_code(roles, db_url):
    result = roles("invite", "parent", "2023020101")

    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "刘洋 的家长 刘德华" in lines[0] and "刘洋 的家长 张慧" in lines[1]
    printed = {line.split()[-1] for line in lines}
    assert len(printed) == 2 and printed <= codes(db_url)


def test_one_parent_by_phone(roles):
    result = roles("invite", "parent", "2023020101", "--phone", "13708520011")

    assert result.exit_code == 0 and "张慧" in result.output and "刘德华" not in result.output


def test_invite_mentor_prints_a_code(roles, db_url):
    result = roles("invite", "mentor", "13608520001")

    assert result.exit_code == 0, result.output
    assert "企业导师 赵师傅" in result.output
    assert result.output.split()[-1] in codes(db_url)


def test_invite_school_admin_prints_a_code(roles, db_url):
    added = roles(
        "user", "add", "gzjt", "--role", "school", "--school", "贵州交通职业技术学院",
        input="secret-pass\nsecret-pass\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output

    result = roles("invite", "school-admin", "gzjt")

    assert result.exit_code == 0, result.output
    assert "学校管理员 gzjt" in result.output and result.output.split()[-1] in codes(db_url)


def test_unknown_mentor_and_admin_are_clear_errors(roles):
    mentor = roles("invite", "mentor", "13600000000")
    admin = roles("invite", "school-admin", "nobody")

    assert mentor.exit_code == 1 and "找不到手机号为 13600000000 的企业导师" in mentor.output
    assert admin.exit_code == 1 and "找不到学校管理员账号 nobody" in admin.output
