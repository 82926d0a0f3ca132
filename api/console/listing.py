"""Pagination, sorting, filtering and export of lists: one helper shared by every list."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from sqlalchemy import case, func, select
from sqlmodel import Session

from api.console.exports import FORMATS, export_response
from models.audit import record

EXPORT_LIMIT = 100_000
PAGE_SIZES = (20, 50, 100, 200)
# Far beyond any list, and small enough that OFFSET stays a 64-bit integer on both databases.
MAX_PAGE = 1_000_000
MAX_OFFSET = 1_000_000_000


@dataclass
class Column:
    """One column of a list: its header, how to read a row, and how it sorts."""

    key: str
    header: str
    get: Callable[[Any], Any] | None = None
    sort: Any = None  # a SQL expression, or None when the column does not sort
    link: Callable[[Any], str] | None = None
    tag: Callable[[Any], str] | None = None  # a status code: the cell is a coloured tag
    wide: bool = False  # long text: on a phone it takes the card's whole width

    def value(self, row):
        return self.get(row) if self.get else getattr(row, self.key)

    def tag_class(self, row) -> str:
        return f"tag tag-{self.tag(row)}" if self.tag else ""


def ordered(column, order: tuple[str, ...]):
    """Sort a status column by its workflow (open before resolved), not alphabetically."""
    return case(*[(column == value, i) for i, value in enumerate(order)], else_=len(order))


@dataclass
class Filter:
    name: str
    label: str
    options: list[tuple[str, str]] | None = None  # (value, label); None = free text
    kind: str = "text"  # text | date | select


@dataclass
class Page:
    rows: list
    total: int
    page: int
    page_size: int
    sort: str
    desc: bool
    args: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def hidden_args(self) -> dict:
        """The query arguments a jump-to-page form carries along."""
        return {k: v for k, v in self.args.items() if k not in ("page", "page_size", "offset")}

    def url(self, **change) -> str:
        """The same list with some query arguments changed (page, sort...)."""
        args = {k: v for k, v in {**self.args, **change}.items() if v not in (None, "")}
        return "?" + urlencode(args)

    def sort_url(self, key: str) -> str:
        desc = "0" if (self.sort == key and self.desc) else "1" if self.sort == key else "0"
        return self.url(sort=key, desc=desc, page=1)


def _int(value: str | None, default: int, *, lo: int = 1, hi: int | None = None) -> int:
    try:
        n = int(value) if value not in (None, "") else default
    except ValueError:
        raise HTTPException(400, f"不是有效的整数：{value}") from None
    n = max(lo, n)
    return min(n, hi) if hi is not None else n


def paginate(
    session: Session,
    stmt,
    request: Request,
    columns: list[Column],
    *,
    default_sort: str,
    default_desc: bool = False,
    page_size: int,
    max_page_size: int = 500,
) -> Page:
    """Run a select() sorted and sliced as the request's query string asks."""
    q = request.query_params
    sorts = {c.key: c.sort for c in columns if c.sort is not None}
    sort = q.get("sort") or default_sort
    if sort not in sorts:
        raise HTTPException(400, f"不能按 {sort} 排序；可用：{', '.join(sorts)}")
    desc = q.get("desc", "1" if default_desc else "0") in ("1", "true")
    size = _int(q.get("page_size") or q.get("limit"), page_size, hi=max_page_size)
    total = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
    total = int(total.scalar() or 0)
    if q.get("offset") not in (None, ""):
        offset = _int(q.get("offset"), 0, lo=0, hi=MAX_OFFSET)
        page = offset // size + 1
    else:
        page = _int(q.get("page"), 1, hi=MAX_PAGE)
        offset = (page - 1) * size
    order = sorts[sort].desc() if desc else sorts[sort].asc()
    first_key = next(iter(sorts.values()))
    rows = session.execute(stmt.order_by(order, first_key).offset(offset).limit(size)).all()
    args = {k: v for k, v in q.items() if k not in ("format",)}
    return Page(rows, total, page, size, sort, desc, args)


def export_list(session: Session, stmt, request: Request, columns: list[Column], name: str):
    """The whole filtered list (not just a page) as CSV or XLSX, sorted like the page."""
    fmt = request.query_params.get("format", "")
    if fmt not in FORMATS:
        raise HTTPException(400, f"导出格式只能是 {' / '.join(FORMATS)}")
    sorts = {c.key: c.sort for c in columns if c.sort is not None}
    key = request.query_params.get("sort")
    if key in sorts:
        desc = request.query_params.get("desc") == "1"
        stmt = stmt.order_by(sorts[key].desc() if desc else sorts[key].asc())
    rows = session.execute(stmt.limit(EXPORT_LIMIT)).all()
    table = ([c.value(r) for c in columns] for r in rows)
    response = export_response(name, [c.header for c in columns], table, fmt)
    audit_export(session, request, name=name, fmt=fmt, rows=len(rows))
    return response


def audit_export(session: Session, request: Request, *, name: str, fmt: str, rows: int) -> None:
    """Record who downloaded which list (personal data leaving the system), and commit."""
    user = request.state.console_user
    args = {k: v[:100] for k, v in request.query_params.items() if k != "format"}
    record(
        session,
        actor=user.username,
        action="export",
        target_kind="list",
        target_id=name[:64],
        school_id=user.school_id,
        format=fmt,
        rows=rows,
        query=args,
    )
    session.commit()
