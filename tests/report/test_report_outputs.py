"""The report's XLSX, the `shixi report quality` command and the console download."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.commands.demo import DEMO_PASSWORD
from api.report.xlsx import render_xlsx
from core.quality_text import SECTIONS
from tests.api.console_world import login
from tests.report.report_world import FIRST, LAST, NOW, demo_settings


def _sheets(data: bytes) -> dict[str, list[tuple]]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def _block(rows: list[tuple], title: str) -> list[tuple]:
    """The rows under a block's title and header, up to the blank line after it."""
    start = next(i for i, row in enumerate(rows) if row and row[0] == title) + 2
    end = next((i for i in range(start, len(rows)) if not rows[i] or rows[i][0] is None), len(rows))
    return rows[start:end]


def test_the_xlsx_has_one_sheet_per_section_with_the_rows_behind_each_figure(province_report):
    sheets = _sheets(render_xlsx(province_report))
    numbered = [f"{no} {title}" for no, (key, title) in enumerate(SECTIONS, 1) if key != "data"]
    assert list(sheets) == ["说明", *numbered]
    r = province_report
    scale = sheets["1 实习规模"]
    assert {row[0]: row[1] for row in _block(scale, "规模总览（统计期末）")} == r["scale"]["totals"]
    schools = _block(scale, "各校")
    assert sum(row[1] for row in schools) == r["scale"]["totals"]["students"]
    days = _block(sheets["4 签到与周记提交"], "每天")
    assert len(days) == (LAST - FIRST).days + 1
    assert sum(d[1] for d in days) == r["attendance"]["checkin"]["den"]
    assert sum(d[2] for d in days) == r["attendance"]["checkin"]["num"]
    tickets = _block(sheets["8 维权工单"], "工单明细")
    assert len(tickets) == r["tickets"]["overall"]["count"] > 0
    rates = {row[0]: row[1:4] for row in _block(sheets["3 对口率、统一安排率与稳定率"], "三率")}
    assert rates["对口率"] == tuple(r["rates"]["match"][k] for k in ("value", "num", "den"))
    answered = _block(sheets["10 三方满意度"], "按对象")
    assert answered[-1][:3] == ("合计", r["satisfaction"]["overall"]["sent"],
                                r["satisfaction"]["overall"]["answered"])  # fmt: skip
    assert "暂无数据" in str(sheets["7 合规检查"])  # until compliance checking lands


def test_the_command_writes_a_school_report_and_explains_bad_arguments(
    demo_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("SHIXI_DATABASE__URL", demo_url)
    monkeypatch.setenv("SHIXI_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    runner = CliRunner()
    out = tmp_path / "school.xlsx"
    args = ["report", "quality", "--from", str(FIRST), "--to", str(LAST), "--out", str(out)]
    result = runner.invoke(cli, [*args, "--school", "贵州交通职业技术学院"])
    assert result.exit_code == 0, result.output
    assert "统计：三方满意度" in result.output and "已生成" in result.output
    schools = _block(_sheets(out.read_bytes())["1 实习规模"], "各校")
    assert [row[0] for row in schools] == ["贵州交通职业技术学院"]

    for extra, message in (
        ([], "--school"),
        (["--school", "某某学院"], "找不到学校「某某学院」"),
        (["--province", "--school", "贵州交通职业技术学院"], "之一"),
    ):
        result = runner.invoke(cli, [*args, *extra])
        assert result.exit_code == 2 and message in result.output, result.output
    wrong = ["report", "quality", "--province", "--from", str(LAST), "--to", str(FIRST)]
    result = runner.invoke(cli, [*wrong, "--out", str(out)])
    assert result.exit_code == 2 and "早于开始日期" in result.output
    result = runner.invoke(cli, [*args[:6], "--out", str(tmp_path / "x.docx"), "--province"])
    assert result.exit_code == 2 and ".pdf 或 .xlsx" in result.output
    result = runner.invoke(cli, [*args[:2], "--from", "3月1日", *args[4:], "--province"])
    assert result.exit_code == 2 and "无法识别的日期" in result.output


@pytest.fixture
def console(demo_url):
    app = create_app(demo_settings(demo_url))
    app.state.clock = lambda: NOW
    with TestClient(app, follow_redirects=False) as client:
        yield client


def test_the_console_builds_the_report_for_the_signed_in_users_scope(console):
    assert login(console, "gzjt", DEMO_PASSWORD).status_code == 303
    page = console.get("/admin/reports")
    assert page.status_code == 200 and "贵州交通职业技术学院" in page.text
    assert 'name="first" value="2026-11-07"' in page.text  # the 30 days before today
    resp = console.get(f"/admin/reports/quality?first={FIRST}&last={LAST}&format=xlsx")
    assert resp.status_code == 200
    assert "attachment" in resp.headers["content-disposition"]
    schools = _block(_sheets(resp.content)["1 实习规模"], "各校")
    assert [row[0] for row in schools] == ["贵州交通职业技术学院"]  # never another school
    for query in ("first=2026-13-01", "format=docx", f"first={LAST}&last={FIRST}"):
        assert console.get(f"/admin/reports/quality?{query}").status_code == 400, query


def test_the_report_page_needs_a_login(console):
    resp = console.get("/admin/reports/quality?format=xlsx")
    assert resp.status_code == 303 and resp.headers["location"].startswith("/admin/login")
