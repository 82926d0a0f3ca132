"""CSV and XLSX downloads of any list: one helper for every page and the API."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import quote

from fastapi.responses import Response

FORMATS = ("csv", "xlsx")
_NOT_IN_SHEET_TITLES = re.compile(r"[\\/?*\[\]:]")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def _plain(value):
    if isinstance(value, datetime) and value.tzinfo:
        return value.isoformat(sep=" ", timespec="seconds")
    return value


def _safe_text(value):
    # Spreadsheet formula injection: a cell starting with = + - @ is text, not a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def sheet_title(name: str) -> str:
    """A valid worksheet name: Excel forbids \\ / ? * [ ] : and more than 31 characters
    (a class called "汽修2301/2302" is common)."""
    return _NOT_IN_SHEET_TITLES.sub("_", name)[:31].strip("'") or "Sheet1"


def export_response(
    filename: str, headers: Sequence[str], rows: Iterable[Sequence], fmt: str
) -> Response:
    """A download of the rows as CSV (UTF-8 with BOM, opens in Excel) or XLSX."""
    rows = [[_safe_text(_cell(v)) for v in row] for row in rows]
    if fmt == "xlsx":
        from openpyxl import Workbook  # with numpy and Pillow: ~17 MB, for a download only

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(sheet_title(filename))
        ws.append(list(headers))
        for row in rows:
            # openpyxl refuses timezone-aware datetimes; the local time as text reads best.
            ws.append([_plain(v) for v in row])
        buf = io.BytesIO()
        wb.save(buf)
        body, media = buf.getvalue(), XLSX_TYPE
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(headers)
        writer.writerows(rows)
        body, media = ("\ufeff" + text.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    name = quote(f"{filename}.{fmt}")
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )
