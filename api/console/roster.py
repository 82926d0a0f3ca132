"""Roster upload: import a CSV/XLSX and show which rows were accepted and which were not."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from sqlmodel import select

from api.console.web import ConsoleUserDep, CsrfChecked, render
from api.deps import NowDep, SessionDep, SettingsDep
from core.audit import record
from core.roster import RosterFileError, parse_roster, read_cells
from models import ConsoleUser, School, Student
from models.roster_upsert import KIND_LABELS, upsert_roster

router = APIRouter()

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
SUFFIXES = (".csv", ".xlsx")
NOT_ALLOWED = "只有学校管理员和省厅管理员可以导入花名册。"
OTHER_SCHOOL = "学校“{school}”不是您所在的学校，未导入"
STUDENT_ELSEWHERE = "学号 {no} 已属于其他学校，未导入"
NO_FILE = "请选择要上传的 CSV 或 XLSX 文件。"
BAD_TYPE = "不支持的文件类型：请上传 .csv 或 .xlsx 文件。"
TOO_BIG = "文件太大（最大 20 MB），请拆分后分批上传。"


def _allowed(user: ConsoleUser) -> None:
    if user.role not in ("province", "school"):
        raise HTTPException(403, NOT_ALLOWED)


def _own_school_only(session, user: ConsoleUser, roster) -> None:
    """A school admin imports only their own school's students; other rows are rejected."""
    if user.role != "school":
        return
    school = session.get(School, user.school_id)
    numbers = [r.student_no for r in roster.rows]
    elsewhere = set()
    for i in range(0, len(numbers), 500):
        elsewhere |= set(
            session.exec(
                select(Student.student_no).where(
                    Student.student_no.in_(numbers[i : i + 500]),
                    Student.school_id != user.school_id,
                )
            ).all()
        )
    kept = []
    for row in roster.rows:
        if school is None or row.school != school.name:
            roster.errors.append((row.line, OTHER_SCHOOL.format(school=row.school)))
        elif row.student_no in elsewhere:
            roster.errors.append((row.line, STUDENT_ELSEWHERE.format(no=row.student_no)))
        else:
            kept.append(row)
    roster.rows = kept
    roster.errors.sort()


@router.get("/admin/roster")
def roster_page(request: Request, user: ConsoleUserDep):
    _allowed(user)
    return render(request, "roster.html", user=user, title="花名册导入", result=None, error="")


@router.post("/admin/roster", dependencies=[CsrfChecked])
async def roster_upload(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, user: ConsoleUserDep
):
    _allowed(user)
    form = await request.form()
    upload = form.get("file")
    page = dict(user=user, title="花名册导入", result=None)
    if upload is None or isinstance(upload, str) or not upload.filename:
        return render(request, "roster.html", 400, error=NO_FILE, **page)
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in SUFFIXES:
        return render(request, "roster.html", 400, error=BAD_TYPE, **page)
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return render(request, "roster.html", 413, error=TOO_BIG, **page)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"roster{suffix}"
        path.write_bytes(data)
        try:
            roster = parse_roster(
                read_cells(path), default_radius_m=settings.checkin.default_radius_m
            )
        except (RosterFileError, ValueError) as exc:
            return render(request, "roster.html", 400, error=f"无法导入：{exc}", **page)
    _own_school_only(session, user, roster)
    tally = upsert_roster(session, roster.rows, columns=roster.columns, now=now)
    record(
        session,
        actor=user.username,
        action="roster.import",
        target_kind="file",
        target_id=upload.filename[:64],
        school_id=user.school_id,
        rows=len(roster.rows),
        rejected=len(roster.errors),
        **{kind: vars(t) for kind, t in tally.items()},
    )
    session.commit()
    result = dict(
        accepted=roster.rows,
        rejected=roster.errors,
        ignored=roster.ignored_headers,
        tally=[
            (KIND_LABELS[k], t) for k, t in tally.items() if t.created or t.updated or t.unchanged
        ],
    )
    page["result"] = result
    return render(request, "roster.html", error="", **page)
