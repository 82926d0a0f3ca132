"""Roster upload: import a CSV/XLSX and show which rows were accepted and which were not."""

from __future__ import annotations

import base64
import binascii
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from api.console.exports import FORMATS, export_response
from api.console.web import ConsoleUserDep, CsrfChecked, render
from api.deps import NowDep, SessionDep, SettingsDep
from core.roster import COLUMNS, REQUIRED, RosterFileError, parse_roster, read_cells
from models import ConsoleUser, School, Student
from models.audit import record
from models.roster_scope import claimed_elsewhere
from models.roster_upsert import KIND_LABELS, upsert_roster

router = APIRouter()

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
SUFFIXES = (".csv", ".xlsx")
NOT_ALLOWED = "只有学校管理员和省厅管理员可以导入花名册。"
OTHER_SCHOOL = "学校“{school}”不是您所在的学校，未导入"
STUDENT_ELSEWHERE = "学号 {no} 已属于其他学校，未导入"
TEACHER_ELSEWHERE = "教师手机号 {phone} 已是其他学校的教师，未导入（请核对，或联系省厅管理员处理）"
PARENT_ELSEWHERE = (
    "家长手机号 {phone} 已登记为其他学校学生的家长，未导入（请核对，或联系省厅管理员处理）"
)
NO_FILE = "请选择要上传的 CSV 或 XLSX 文件。"
BAD_TYPE = "不支持的文件类型：请上传 .csv 或 .xlsx 文件。"
TOO_BIG = "文件太大（最大 20 MB），请拆分后分批上传。"
STALE_PREVIEW = "预览已失效，请重新选择文件上传。"
# The template: the columns a school usually has, Chinese headers, one example row.
TEMPLATE_COLUMNS = (
    "student_no", "name", "gender", "phone", "school", "major", "class", "teacher_name",
    "teacher_phone", "parent_name", "parent_phone", "company", "industry", "position", "address",
    "latitude", "longitude", "radius_m", "shift_start", "shift_end", "workdays", "start_date",
    "end_date", "monthly_salary", "arranged_by_school", "agreement_signed", "insured",
)  # fmt: skip
TEMPLATE_EXAMPLE = (
    "2023010101", "王小明", "男", "13800000000", "（您的学校全称）", "汽车检测与维修技术",
    "汽修2301", "李老师", "13900000000", "王父", "13700000000", "贵阳汽车服务有限公司", "汽车",
    "汽车维修", "贵州省贵阳市观山湖区长岭北路 1 号", "26.6470", "106.6302", "500", "09:00",
    "18:00", "1-5", "2026-03-01", "2026-07-31", "3600", "是", "是", "是",
)  # fmt: skip


def _allowed(user: ConsoleUser) -> None:
    if user.role not in ("province", "school"):
        raise HTTPException(403, NOT_ALLOWED)


def _own_school_only(session, user: ConsoleUser, roster) -> None:
    """A school admin's roster touches only their own school: rows naming another school, or
    another school's student, teacher or parent, are rejected with the reason."""
    if user.role != "school":
        return
    school = session.get(School, user.school_id)
    elsewhere = claimed_elsewhere(
        session.connection(),
        school_id=user.school_id,
        student_nos=(r.student_no for r in roster.rows),
        teacher_phones=(r.teacher_phone for r in roster.rows if r.teacher_phone),
        parent_phones=(r.parent_phone for r in roster.rows if r.parent_phone),
    )
    kept = []
    for row in roster.rows:
        if school is None or row.school != school.name:
            roster.errors.append((row.line, OTHER_SCHOOL.format(school=row.school)))
        elif row.student_no in elsewhere["student"]:
            roster.errors.append((row.line, STUDENT_ELSEWHERE.format(no=row.student_no)))
        elif row.teacher_phone in elsewhere["teacher"]:
            roster.errors.append((row.line, TEACHER_ELSEWHERE.format(phone=row.teacher_phone)))
        elif row.parent_phone in elsewhere["parent"]:
            roster.errors.append((row.line, PARENT_ELSEWHERE.format(phone=row.parent_phone)))
        else:
            kept.append(row)
    roster.rows = kept
    roster.errors.sort()


def _import(session, settings, user: ConsoleUser, now, data: bytes, suffix: str, *,
            filename: str, preview: bool):  # fmt: skip
    """Parse, check the school, write (or, for a preview, roll back) and audit one uploaded
    roster: (roster, tally, the student numbers already known). Run in a worker thread."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"roster{suffix}"
        path.write_bytes(data)
        roster = parse_roster(read_cells(path), default_radius_m=settings.checkin.default_radius_m)
    _own_school_only(session, user, roster)
    known = _known_students(session, [r.student_no for r in roster.rows])
    own = user.school_id if user.role == "school" else None
    tally = upsert_roster(session, roster.rows, columns=roster.columns, now=now, school_id=own)
    if preview:
        session.rollback()  # the same writes, undone: the preview is exact and stores nothing
        return roster, tally, known
    record(
        session,
        actor=user.username,
        action="roster.import",
        target_kind="file",
        target_id=filename[:64],
        school_id=user.school_id,
        rows=len(roster.rows),
        rejected=len(roster.errors),
        **{kind: vars(t) for kind, t in tally.items()},
    )
    session.commit()
    return roster, tally, known


@router.get("/admin/roster")
def roster_page(request: Request, user: ConsoleUserDep):
    _allowed(user)
    required = "、".join(COLUMNS[c] for c in REQUIRED)
    return render(
        request, "roster.html", user=user, title="花名册导入", result=None, error="",
        required=required,
    )  # fmt: skip


@router.get("/admin/roster/template.{fmt}")
def roster_template(fmt: str, session: SessionDep, user: ConsoleUserDep):
    """An empty roster with Chinese headers and one example row (own school filled in)."""
    _allowed(user)
    if fmt not in FORMATS:
        raise HTTPException(404, f"模板格式只能是 {' / '.join(FORMATS)}")
    example = list(TEMPLATE_EXAMPLE)
    school = session.get(School, user.school_id) if user.school_id else None
    if school is not None:
        example[TEMPLATE_COLUMNS.index("school")] = school.name
    headers = [COLUMNS[c] + ("*" if c in REQUIRED else "") for c in TEMPLATE_COLUMNS]
    return export_response("花名册模板", headers, [example], fmt)


def _file_from(form) -> tuple[str, bytes] | str:
    """(file name, bytes) of an upload, or of the file a preview carried along; else an error."""
    if form.get("data"):
        try:
            return str(form.get("filename", "roster.csv")), base64.b64decode(str(form["data"]))
        except (binascii.Error, ValueError):
            return STALE_PREVIEW
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return NO_FILE
    return upload.filename, upload


@router.post("/admin/roster", dependencies=[CsrfChecked])
async def roster_upload(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, user: ConsoleUserDep
):
    """step=preview: what would change, nothing written; anything else imports."""
    _allowed(user)
    form = await request.form(max_part_size=MAX_UPLOAD_BYTES * 2)
    preview = form.get("step") == "preview"
    page = dict(user=user, title="花名册导入", result=None, required="")
    found = _file_from(form)
    if isinstance(found, str):
        return render(request, "roster.html", 400, error=found, **page)
    filename, upload = found
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        return render(request, "roster.html", 400, error=BAD_TYPE, **page)
    data = upload if isinstance(upload, bytes) else await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return render(request, "roster.html", 413, error=TOO_BIG, **page)
    # Parsing and writing a large roster takes seconds: off the event loop, which meanwhile
    # keeps answering webhooks.
    try:
        roster, tally, known = await run_in_threadpool(
            _import, session, settings, user, now, data, suffix, filename=filename, preview=preview
        )
    except (RosterFileError, ValueError) as exc:
        return render(request, "roster.html", 400, error=f"无法导入：{exc}", **page)
    result = dict(
        preview=preview,
        filename=filename,
        data=base64.b64encode(data).decode() if preview else "",
        accepted=roster.rows,
        known=known,
        rejected=roster.errors,
        ignored=roster.ignored_headers,
        tally=[
            (KIND_LABELS[k], t) for k, t in tally.items() if t.created or t.updated or t.unchanged
        ],
    )
    page["result"] = result
    return render(request, "roster.html", error="", **page)


def _known_students(session, numbers: list[str]) -> set[str]:
    """The student numbers already stored (the preview marks the others as new)."""
    known: set[str] = set()
    for i in range(0, len(numbers), 500):
        known |= set(
            session.exec(
                select(Student.student_no).where(Student.student_no.in_(numbers[i : i + 500]))
            ).all()
        )
    return known
