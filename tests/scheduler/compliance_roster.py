"""The compliance table test's roster: one row per rule that breaks it, one that nearly does.

Rows are imported through the real roster import; every row differs from a compliant base in
the columns named, and each has its own company so that intern ratios do not mix.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

from sched_helpers import at
from sqlmodel import Session, select

from models import CheckIn, Placement, Student, Ticket

START = date(2026, 2, 2)  # a Monday; the checks run as of Monday 2026-03-02
HOLIDAY = date(2026, 2, 27)  # a Friday, configured as a holiday in the test settings
BASE = {
    "student_no": "", "name": "学生", "gender": "女", "school": "贵州交通职业技术学院",
    "major": "软件技术", "class": "软件2301", "teacher_name": "李老师",
    "teacher_phone": "13908510001", "company": "", "industry": "信息技术",
    "position": "软件测试员", "address": "贵州省贵阳市观山湖区长岭北路88号",
    "latitude": "26.647", "longitude": "106.6302", "shift_start": "09:00", "shift_end": "18:00",
    "workdays": "1-5", "start_date": START.isoformat(), "end_date": "2026-07-31",
    "monthly_salary": "4000", "birth_date": "2006-01-01", "agreement_signed": "是",
    "insured": "是", "grade": "3", "arranged_by": "学校", "guardian_consent": "是",
    "post_wage": "4500", "company_headcount": "1000", "post_headcount": "100",
}  # fmt: skip
HEADER = [*BASE]

# (student_no, rule it breaks or None, columns that differ from the base)
ROWS: list[tuple[str, str | None, dict]] = [
    ("C00", None, {}),
    ("C01", "under_16", {"birth_date": "2010-02-03"}),  # 16 the day after the start
    ("C02", None, {"birth_date": "2010-02-02"}),  # 16 on the day the placement starts
    ("C03", "first_year", {"grade": "1"}),
    ("C04", None, {"grade": "二年级"}),
    ("C05", "banned_venue", {"company": "贵阳星光KTV娱乐有限公司", "industry": "娱乐"}),
    ("C06", None, {"company": "贵阳酒店管理有限公司", "industry": "住宿"}),
    ("C07", "intermediary", {"arranged_by": "中介"}),
    ("C08", None, {"arranged_by": "自主"}),
    ("C09", "minor_banned_work", {"birth_date": "2009-06-01", "position": "高空作业安装工"}),
    ("C10", None, {"birth_date": "2008-03-01", "position": "高空作业安装工"}),  # 18 yesterday
    ("C11", "no_agreement", {"agreement_signed": "否"}),
    ("C12", None, {"agreement_signed": ""}),  # not given: unknown, not a violation
    ("C13", "no_insurance", {"insured": "否"}),
    ("C14", None, {"insured": ""}),
    ("C15", "no_guardian_consent", {"birth_date": "2009-06-01", "guardian_consent": "否"}),
    ("C16", None, {"birth_date": "2008-02-02", "guardian_consent": "否"}),  # 18 on day one
    ("C17", "low_pay", {"monthly_salary": "3199", "post_wage": "4000"}),
    ("C18", None, {"monthly_salary": "3200", "post_wage": "4000"}),  # exactly 80%
    ("C19", "low_pay", {"monthly_salary": "1880", "post_wage": ""}),  # under 贵阳's 1890
    ("C20", None, {"monthly_salary": "1890", "post_wage": ""}),
    ("C21", "night_work", {"shift_start": "15:00", "shift_end": "22:30"}),
    ("C22", None, {"shift_start": "13:00", "shift_end": "22:00"}),  # ends at 22:00
    ("C23", "overtime", {"shift_start": "08:00", "shift_end": "18:00"}),  # 9 h after the break
    ("C24", "overtime", {"workdays": "1-6"}),  # 6 x 8 h = 48 h a week
    ("C25", None, {"workdays": "1-6", "shift_start": "09:00", "shift_end": "16:00"}),  # 36 h
    ("C26", "no_rest_day", {"workdays": "1-7", "shift_start": "09:00", "shift_end": "14:00"}),
    ("C27", "intern_ratio", {"company_headcount": "5"}),  # 1 intern of 5 staff: 20%
    ("C28", None, {"company_headcount": "10", "post_headcount": "5"}),  # exactly 10% and 20%
    ("C29", "holiday_work", {}),  # checks in on the configured holiday
    ("C30", None, {}),  # checks in the day before it
    ("C31", "night_work", {}),  # checks in at 22:40
    ("C32", "overtime", {}),  # checks in 08:00, out 19:30 one day
    ("C33", "no_rest_day", {}),  # checks in on seven days running
    ("C34", "fees_or_deposit", {}),  # reports a deposit
    ("C35", None, {}),  # reports something else
    ("C36", None, {}),  # checks in on six days running, twice, with a day off between
    ("C37", None, {}),  # checks in at 22:00 sharp
]
# (student_no, [(day, hh, mm), ...]): check-ins on the rows above
CHECKINS = {
    "C29": [(HOLIDAY, 9, 0)],
    "C30": [(date(2026, 2, 26), 9, 0), (date(2026, 2, 26), 17, 55)],  # 7 h 55 worked
    "C31": [(date(2026, 2, 24), 22, 40)],
    "C32": [(date(2026, 2, 24), 8, 0), (date(2026, 2, 24), 19, 30)],
    "C33": [(date(2026, 2, 3 + i), 9, 0) for i in range(7)],  # Tuesday to Monday
    "C36": [(date(2026, 2, d), 9, 0) for d in (2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14)],
    "C37": [(date(2026, 2, 24), 22, 0)],
}
TICKETS = {
    "C34": ("fees", "中介要求交两千元押金，不交就不让上岗"),
    "C35": ("housing", "宿舍八个人一间，没有热水"),
}


def row(no: str, changes: dict) -> dict:
    values = {**BASE, **changes, "student_no": no, "name": f"学生{no}"}
    values["company"] = changes.get("company") or f"贵阳{no}科技有限公司"
    values["teacher_phone"] = BASE["teacher_phone"]
    return values


def write_roster(path: Path, rows=ROWS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, HEADER)
        writer.writeheader()
        for no, _, changes in rows:
            writer.writerow(row(no, changes))
    return path


def add_evidence(session: Session) -> None:
    """The check-ins and tickets the rows above need, stored as the handlers store them."""
    ids = {no: (sid, pid, school) for no, sid, pid, school in session.execute(
        select(Student.student_no, Student.id, Placement.id, Placement.school_id)
        .join(Placement, Placement.student_id == Student.id)
    )}  # fmt: skip
    for no, times in CHECKINS.items():
        sid, pid, school = ids[no]
        for i, (day, hh, mm) in enumerate(times):
            session.add(
                CheckIn(
                    school_id=school, student_id=sid, placement_id=pid, day=day,
                    at=at(day, hh, mm), kind="start" if i == 0 else "end", raw_lat=26.647,
                    raw_lng=106.6302, datum="gcj02", norm_lat=26.647, norm_lng=106.6302,
                    distance_m=10.0, within_fence=True,
                )
            )  # fmt: skip
    for no, (category, text) in TICKETS.items():
        sid, _, school = ids[no]
        session.add(
            Ticket(
                school_id=school, student_id=sid, category=category, description=text,
                created_at=datetime(2026, 2, 20, 10, 0, tzinfo=at(START, 0).tzinfo),
            )
        )  # fmt: skip
    session.commit()
