"""A school admin's roster cannot touch another school's teachers, parents or companies."""

from __future__ import annotations

from sqlmodel import select

from models import Company, Guardianship, Parent, Student, Teacher
from tests.api.console_world import SCHOOL_B, build_world, csrf_of, login, make_client
from tests.api.test_console_pages import GOOD_ROW, ROSTER_HEADER
from tests.factories import make_student

B_TEACHER = "13800000003"  # 吴老师 of school B in console_world
B_PARENT = "13911112222"
B_COMPANY = "贵州食品有限公司"


def _upload(client, csrf, rows: list[str]):
    header = ROSTER_HEADER + ",parent_name,parent_phone"
    body = "\n".join([header, *rows]) + "\n"
    files = {"file": ("名册.csv", body.encode("utf-8"), "text/csv")}
    return client.post("/admin/roster", data={"csrf": csrf}, files=files)


def test_a_school_admins_roster_cannot_touch_another_schools_rows(settings, engine, session, now):
    build_world(session, now)
    make_student(session, student_no="B002", name="钱小二", school=SCHOOL_B,
                 teacher_name="吴老师", teacher_phone=B_TEACHER, company=B_COMPANY,
                 parent_name="钱父", parent_phone=B_PARENT)  # fmt: skip
    session.commit()
    client = make_client(settings, engine, now)
    login(client, "school_a")
    csrf = csrf_of(client.get("/admin/roster").text)
    teacher_row = (
        GOOD_ROW.replace("A100,孙新生", "A201,甲同学").replace(
            "李老师,13800000001", f"冒名老师,{B_TEACHER}"
        )
        + ",甲父,13911110001"
    )
    parent_row = GOOD_ROW.replace("A100,孙新生", "A202,乙同学") + f",冒名家长,{B_PARENT}"
    company_row = (
        GOOD_ROW.replace("A100,孙新生", "A203,丙同学").replace(
            "贵阳汽车服务有限公司,汽车", f"{B_COMPANY},娱乐"
        )
        + ",丙父,13911110003"
    )
    resp = _upload(client, csrf, [teacher_row, parent_row, company_row])
    assert resp.status_code == 200, resp.text
    assert "已是其他学校的教师" in resp.text and "已登记为其他学校学生的家长" in resp.text
    assert 'id="accepted-count">1<' in resp.text  # the company row: placed, not rewritten

    session.expire_all()
    teacher = session.exec(select(Teacher).where(Teacher.phone == B_TEACHER)).one()
    assert (teacher.name, teacher.school_id) == ("吴老师", _school_of(session, "B001"))
    parent = session.exec(select(Parent).where(Parent.phone == B_PARENT)).one()
    assert parent.name == "钱父"
    children = session.exec(
        select(Student.student_no)
        .join(Guardianship, Guardianship.student_id == Student.id)
        .where(Guardianship.parent_id == parent.id)
    ).all()
    assert children == ["B002"]
    assert session.exec(select(Company).where(Company.name == B_COMPANY)).one().industry == "汽车"
    assert session.exec(select(Student).where(Student.student_no == "A203")).one()
    assert not session.exec(select(Student).where(Student.student_no.in_(["A201", "A202"]))).all()


def _school_of(session, student_no: str) -> int:
    return session.exec(select(Student.school_id).where(Student.student_no == student_no)).one()
