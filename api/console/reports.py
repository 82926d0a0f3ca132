"""The quality report (实习质量报告) page: pick a period, download the PDF or XLSX."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response

from api.console.web import ConsoleUserDep, render
from api.deps import NowDep, SessionDep, SettingsDep
from core.quality_report import build_report, scope_name

router = APIRouter()

DEFAULT_DAYS = 30
MAX_DAYS = 731
MEDIA = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BAD_DATE = "日期格式应为 2026-09-01：{value}"
BAD_PERIOD = "结束日期不能早于开始日期，统计期最长两年。"
BAD_FORMAT = "格式只能是 PDF 或 XLSX。"
PDF_MISSING = "服务器暂时无法生成 PDF（缺少 WeasyPrint 所需的系统组件），请先下载 XLSX。"


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, BAD_DATE.format(value=value)) from None


@router.get("/admin/reports")
def reports_page(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, user: ConsoleUserDep
):
    last = now.astimezone(settings.tz).date() - timedelta(days=1)
    return render(
        request,
        "reports.html",
        user=user,
        title="质量报告",
        scope=scope_name(session, user),
        first=last - timedelta(days=DEFAULT_DAYS - 1),
        last=last,
    )


@router.get("/admin/reports/quality")
def quality_report(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: ConsoleUserDep,
    first: str | None = None,
    last: str | None = None,
    format: str = "pdf",
):
    """Builds the report for the signed-in user's scope and sends it as a download."""
    if format not in MEDIA:
        raise HTTPException(400, BAD_FORMAT)
    yesterday = now.astimezone(settings.tz).date() - timedelta(days=1)
    end = _day(last, yesterday)
    start = _day(first, end - timedelta(days=DEFAULT_DAYS - 1))
    if end < start or (end - start).days > MAX_DAYS:
        raise HTTPException(400, BAD_PERIOD)
    report = build_report(session, user, first=start, last=end, settings=settings, now=now)
    if format == "xlsx":
        from api.report.xlsx import render_xlsx

        data = render_xlsx(report)
    else:
        from api.report.pdf import PdfUnavailable, render_pdf

        try:
            data = render_pdf(report)
        except PdfUnavailable:
            raise HTTPException(503, PDF_MISSING) from None
    name = f"{report['scope']}实习质量报告_{start:%Y%m%d}-{end:%Y%m%d}.{format}"
    disposition = f"attachment; filename=\"report.{format}\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=MEDIA[format], headers={"Content-Disposition": disposition})
