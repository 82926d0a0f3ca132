"""Personal information (SPEC section 13): the notice's version, and consent given at binding."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime

from sqlmodel import select

from models import ChannelAccount, Student
from models.audit import record
from models.personal_data import PersonalData, jsonable
from models.privacy import insert_consents

# The version of the privacy notice (the bind receipt's line and the /privacy page). Change it
# whenever what is collected, who sees it or how long it is kept changes: consents name it.
NOTICE_VERSION = "2026-12-01"


def record_consent(session, *, account: ChannelAccount, at: datetime, batch=None) -> int:
    """Record that the person bound through `account` accepted the current notice.

    A parent's binding is the guardian's consent for each of their children (minors included).
    Returns how many consent rows were written.
    """
    return insert_consents(
        session,
        person_kind=account.person_kind,
        person_id=account.person_id,
        channel=account.channel,
        school_id=account.school_id,
        notice_version=NOTICE_VERSION,
        at=at,
        batch=batch,
    )


# --- one person's data: export and erasure ------------------------------------------------

EXPORT_README = """实习助手 · 个人信息导出

学生：{name}（学号 {student_no}）
导出时间：{at}
隐私说明版本：{version}

data.json 含全部记录（按数据表分组）；每个数据表另有一个同名 CSV 文件（UTF-8，可用 Excel 打开）。
坐标为 GCJ-02（国测局坐标）。时间为 UTC（协调世界时），北京时间需加 8 小时。
"""


class PrivacyError(LookupError):
    """No such student (or not one the caller may act on); the message says which."""


def find_student_for(session, student_no: str, *, school_id: int | None = None) -> Student:
    """The student with this number (within one school when given), else PrivacyError."""
    query = select(Student).where(Student.student_no == student_no.strip())
    if school_id is not None:
        query = query.where(Student.school_id == school_id)
    student = session.exec(query).first()
    if student is None:
        raise PrivacyError(f"找不到学号为 {student_no} 的学生")
    return student


def _csv(rows: list[dict]) -> bytes:
    text = io.StringIO()
    columns = list(rows[0]) if rows else []
    writer = csv.writer(text)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else jsonable(v)
                for v in row.values()
            ]
        )
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def export_zip(session, student: Student, *, at: datetime) -> tuple[bytes, dict[str, int]]:
    """A ZIP of every row naming the student (JSON and one CSV per table), and row counts."""
    rows = PersonalData(session.connection(), student).rows()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        readme = EXPORT_README.format(
            name=student.name,
            student_no=student.student_no,
            at=at.isoformat(timespec="seconds"),
            version=NOTICE_VERSION,
        )
        archive.writestr("README.txt", readme)
        data = {table: [{k: jsonable(v) for k, v in r.items()} for r in items]
                for table, items in rows.items()}  # fmt: skip
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=1))
        for table, items in rows.items():
            archive.writestr(f"{table}.csv", _csv(items))
    return buffer.getvalue(), {table: len(items) for table, items in rows.items()}


def erase(session, student: Student, *, actor: str, at: datetime) -> dict[str, int]:
    """Delete every row naming the student; one audit line (no name) is what remains."""
    school_id, student_no = student.school_id, student.student_no
    session.flush()
    counts = PersonalData(session.connection(), student).erase()
    session.expunge(student)
    record(
        session,
        actor=actor,
        action="privacy.erase",
        target_kind="student_no",
        target_id=student_no,
        school_id=school_id,
        at=at,
        rows=counts,
    )
    return counts
