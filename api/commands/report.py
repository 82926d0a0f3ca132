"""`shixi report quality`: the internship quality report of a school or the province."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import typer
from sqlalchemy import select
from sqlmodel import Session

from core.quality_report import build_report
from core.settings import Settings
from core.stats import PROVINCE, SCHOOL_PREFIX, scope_user
from models import School
from models.db import make_engine

FORMATS = (".pdf", ".xlsx")
ONE_SCOPE = "请指定 --school 学校名称 或 --province 之一"
BAD_DATE = "无法识别的日期：{value}（格式如 2026-09-01）"
BAD_PERIOD = "结束日期 {last} 早于开始日期 {first}"
BAD_FORMAT = "--out 的文件名须以 .pdf 或 .xlsx 结尾：{out}"
NO_SCHOOL = "找不到学校「{name}」。已有的学校：{known}"
STEP = "  统计：{label}"
WRITING = "  生成 {kind} …"
DONE = "已生成 {out}（{size} KB，用时 {seconds:.1f} 秒）"


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(BAD_DATE.format(value=value)) from None


def _fail(message: str, code: int = 2) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def report_bytes(report: dict, suffix: str) -> bytes:
    """The report rendered in the format its file name asks for."""
    if suffix == ".xlsx":
        from api.report.xlsx import render_xlsx

        return render_xlsx(report)
    from api.report.pdf import PdfUnavailable, render_pdf

    try:
        return render_pdf(report)
    except PdfUnavailable as exc:
        _fail(str(exc), 1)


def run_quality_report(
    settings: Settings,
    *,
    school: str | None,
    province: bool,
    first: date,
    last: date,
    out: Path,
    quiet: bool = False,
) -> None:
    """Build the report for the scope and period and write it to `out`."""
    if bool(school) == bool(province):
        _fail(ONE_SCOPE)
    if last < first:
        _fail(BAD_PERIOD.format(first=first, last=last))
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        _fail(BAD_FORMAT.format(out=out))
    started = time.perf_counter()
    say = (lambda text: None) if quiet else typer.echo
    engine = make_engine(settings.database.url)
    with Session(engine) as session:
        scope = PROVINCE
        if school:
            school_id = session.execute(select(School.id).where(School.name == school)).scalar()
            if school_id is None:
                names = session.execute(select(School.name).order_by(School.name).limit(20))
                _fail(NO_SCHOOL.format(name=school, known="、".join(names.scalars()) or "无"))
            scope = f"{SCHOOL_PREFIX}{school_id}"
        report = build_report(
            session,
            scope_user(scope),
            first=first,
            last=last,
            settings=settings,
            now=datetime.now(settings.tz),
            progress=lambda label: say(STEP.format(label=label)),
        )
    engine.dispose()
    say(WRITING.format(kind=suffix[1:].upper()))
    data = report_bytes(report, suffix)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    seconds = time.perf_counter() - started
    typer.echo(DONE.format(out=out, size=max(1, len(data) // 1024), seconds=seconds))
