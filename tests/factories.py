"""Small builders for test data: one call gives a student with school, teacher and placement."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from core.geo import to_gcj02
from core.workdays import parse_workdays
from models import (
    ChannelAccount,
    CheckIn,
    Company,
    Guardianship,
    Major,
    Parent,
    Placement,
    School,
    SchoolClass,
    Student,
    Teacher,
)

# A workplace in Guiyang (GCJ-02, as a WeChat map pick would give it).
GUIYANG = (26.5783, 106.7135)
# When test accounts are bound unless a test says otherwise: before every placement starts.
BOUND_LONG_AGO = datetime(2025, 9, 1, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _get_or_create(session: Session, model, where: dict, **values):
    row = session.exec(select(model).filter_by(**where)).first()
    if row is None:
        row = model(**where, **values)
        session.add(row)
        session.flush()
    return row


def make_student(
    session: Session,
    *,
    student_no: str = "S001",
    name: str = "张三",
    school: str = "贵州交通职业技术学院",
    class_name: str = "汽修2301",
    major: str = "汽车检测与维修技术",
    teacher_name: str = "李老师",
    teacher_phone: str = "13800000001",
    parent_name: str = "张父",
    parent_phone: str | None = None,
    company: str = "贵阳汽车服务有限公司",
    point: tuple[float, float] = GUIYANG,
    coord_system: str = "gcj02",
    radius_m: int = 500,
    shift_start: time = time(9, 0),
    shift_end: time = time(18, 0),
    workdays: str = "1-5",
    start_date: date = date(2026, 2, 1),
    end_date: date = date(2026, 7, 31),
    gender: str = "男",
) -> Student:
    """Create (or reuse) everything a student on placement needs; returns the student."""
    school_row = _get_or_create(session, School, {"name": school}, city="贵阳市")
    major_row = _get_or_create(session, Major, {"school_id": school_row.id, "name": major})
    class_row = _get_or_create(
        session,
        SchoolClass,
        {"school_id": school_row.id, "name": class_name},
        major_id=major_row.id,
    )
    teacher = _get_or_create(
        session, Teacher, {"phone": teacher_phone}, school_id=school_row.id, name=teacher_name
    )
    company_row = _get_or_create(
        session, Company, {"name": company}, industry="汽车", city="贵阳市"
    )
    student = Student(
        student_no=student_no,
        name=name,
        gender=gender,
        phone=f"139{student_no[-8:]:0>8}",
        school_id=school_row.id,
        major_id=major_row.id,
        class_id=class_row.id,
        teacher_id=teacher.id,
    )
    session.add(student)
    session.flush()
    parent = _get_or_create(
        session, Parent, {"phone": parent_phone or f"137{student_no[-8:]:0>8}"}, name=parent_name
    )
    session.add(Guardianship(student_id=student.id, parent_id=parent.id))
    norm = to_gcj02(point[0], point[1], coord_system)
    session.add(
        Placement(
            student_id=student.id,
            school_id=school_row.id,
            company_id=company_row.id,
            industry="汽车",
            position="汽车维修",
            address="贵阳市观山湖区",
            city="贵阳市",
            latitude=point[0],
            longitude=point[1],
            coord_system=coord_system,
            norm_lat=norm[0],
            norm_lng=norm[1],
            radius_m=radius_m,
            shift_start=shift_start,
            shift_end=shift_end,
            workdays=workdays,
            workdays_mask=parse_workdays(workdays),
            start_date=start_date,
            end_date=end_date,
            monthly_salary=3500,
            arranged_by_school=True,
        )
    )
    session.flush()
    return student


def bind(
    session: Session,
    *,
    person_kind: str,
    person_id: int,
    channel: str = "console",
    external_id: str = "u1",
    school_id: int | None = None,
    language: str = "zh",
    bound_at: datetime = BOUND_LONG_AGO,
) -> ChannelAccount:
    """A chat account bound to a person (by default long before the tests' weeks)."""
    account = ChannelAccount(
        channel=channel,
        external_id=external_id,
        person_kind=person_kind,
        person_id=person_id,
        school_id=school_id,
        language=language,
        bound_at=bound_at,
    )
    session.add(account)
    session.flush()
    return account


def bound_student(session: Session, *, external_id: str, channel: str = "wechat", **fields):
    """A student (make_student's `fields`) bound to a chat account, committed."""
    student = make_student(session, **fields)
    bind(session, person_kind="student", person_id=student.id, channel=channel,
         external_id=external_id, school_id=student.school_id)  # fmt: skip
    session.commit()
    return student


def add_checkin(
    session: Session, student_id: int, day: date, hh: int = 8, mm: int = 55, ss: int = 0
) -> CheckIn | None:
    """A check-in inside the fence at hh:mm:ss local on `day`, against the placement that
    counts that day (None when no placement runs then, as the check-in handler refuses), with
    the school's daily roll-up kept as the real writer keeps it."""
    from core.due import counting_placement
    from models.stats import bump_school_day

    placements = session.exec(select(Placement).where(Placement.student_id == student_id)).all()
    placement = counting_placement(placements, day)
    if placement is None:
        return None
    earlier = session.exec(
        select(CheckIn).where(CheckIn.student_id == student_id, CheckIn.day == day)
    ).first()
    row = CheckIn(
        school_id=placement.school_id,
        student_id=student_id,
        placement_id=placement.id,
        day=day,
        at=datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=SHANGHAI),
        kind="end" if earlier else "start",
        raw_lat=placement.norm_lat,
        raw_lng=placement.norm_lng,
        datum="gcj02",
        norm_lat=placement.norm_lat,
        norm_lng=placement.norm_lng,
        distance_m=0.0,
        within_fence=True,
    )
    session.add(row)
    bump_school_day(
        session, school_id=row.school_id, day=day, checkins=1,
        students_checked_in=0 if earlier else 1,
    )  # fmt: skip
    session.flush()
    return row


def make_roles(session: Session) -> dict[str, tuple[str, int, int, str]]:
    """A student with two parents, a teacher, a mentor named on the placement and a school
    admin: {who: (person_kind, person_id, school_id, how the bind receipt names them)}."""
    from models import ConsoleUser, Mentor

    student = make_student(session)
    second = Parent(name="张母", phone="13600000002")
    session.add(second)
    session.flush()
    session.add(Guardianship(student_id=student.id, parent_id=second.id))
    placement = session.exec(select(Placement).where(Placement.student_id == student.id)).one()
    mentor = Mentor(company_id=placement.company_id, name="赵师傅", phone="13600000001")
    session.add(mentor)
    session.flush()
    placement.mentor_id = mentor.id
    admin = ConsoleUser(
        username="gzjt", password_hash="x", role="school", school_id=student.school_id
    )
    session.add(admin)
    session.commit()
    parents = session.exec(
        select(Guardianship.parent_id)
        .where(Guardianship.student_id == student.id)
        .order_by(Guardianship.parent_id)
    ).all()
    sid = student.school_id
    return {
        "student": ("student", student.id, sid, "学生 张三（学号 S001）"),
        "parent": ("parent", parents[0], sid, "家长 张父（张三 的家长）"),
        "parent2": ("parent", parents[1], sid, "家长 张母（张三 的家长）"),
        "teacher": ("teacher", student.teacher_id, sid, "指导教师 李老师"),
        "mentor": ("mentor", mentor.id, sid, "企业导师 赵师傅"),
        "school_admin": ("school_admin", admin.id, sid, "学校管理员 gzjt"),
    }
