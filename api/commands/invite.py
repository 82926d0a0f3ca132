"""`shixi invite`: one-time binding codes for students, parents, teachers, mentors and school
admins."""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from sqlalchemy import exists
from sqlmodel import select

from core.invites import find_student, issue_invite
from core.settings import Settings
from models import (
    ChannelAccount,
    ConsoleUser,
    Guardianship,
    Mentor,
    Parent,
    Placement,
    School,
    SchoolClass,
    Student,
    Teacher,
)
from models.audit import record
from models.db import session_scope
from models.types import utcnow


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _people(session, kind: str, key: str, parent_phone: str | None) -> list[tuple]:
    """(person_id, school_id, who) for each person `key` names; fails when nobody."""
    key = key.strip()
    if kind == "teacher":
        teacher = session.exec(select(Teacher).where(Teacher.phone == key)).first()
        if teacher is None:
            _fail(f"找不到手机号为 {key} 的教师")
        return [(teacher.id, teacher.school_id, f"教师 {teacher.name}")]
    if kind == "mentor":
        mentor = session.exec(select(Mentor).where(Mentor.phone == key)).first()
        if mentor is None:
            _fail(f"找不到手机号为 {key} 的企业导师（名册的「导师手机号」列）")
        school_id = session.exec(
            select(Placement.school_id).where(Placement.mentor_id == mentor.id).limit(1)
        ).first()
        return [(mentor.id, school_id, f"企业导师 {mentor.name}")]
    if kind == "school_admin":
        user = session.exec(select(ConsoleUser).where(ConsoleUser.username == key)).first()
        if user is None or user.role != "school" or not user.active:
            _fail(f"找不到学校管理员账号 {key}（先用 shixi user add {key} --role school 创建）")
        return [(user.id, user.school_id, f"学校管理员 {user.username}")]
    student = find_student(session, key)
    if student is None:
        _fail(f"找不到学号为 {key} 的学生")
    if kind == "student":
        return [(student.id, student.school_id, f"学生 {student.name}（{student.student_no}）")]
    query = (
        select(Parent)
        .join(Guardianship, Guardianship.parent_id == Parent.id)
        .where(Guardianship.student_id == student.id)
        .order_by(Parent.id)
    )
    if parent_phone:
        query = query.where(Parent.phone == parent_phone.strip())
    parents = session.exec(query).all()
    if not parents:
        _fail(f"学生 {student.name} 的名册中没有{'该手机号的' if parent_phone else ''}家长信息")
    return [(p.id, student.school_id, f"{student.name} 的家长 {p.name}") for p in parents]


def invite_person(
    settings: Settings, engine, kind: str, key: str, *, parent_phone: str | None = None
) -> None:
    """Print a code for each person `key` names (a student's parents each get their own);
    the last word of the output is a code."""
    with session_scope(engine) as session:
        now = utcnow()
        for person_id, school_id, who in _people(session, kind, key, parent_phone):
            invite = issue_invite(
                session,
                person_kind=kind,
                person_id=person_id,
                school_id=school_id,
                now=now,
                ttl_days=settings.invite.ttl_days,
            )
            record(
                session,
                actor="cli",
                action="invite.create",
                target_kind=kind,
                target_id=person_id,
                school_id=school_id,
            )
            expires = invite.expires_at.astimezone(settings.tz).strftime("%Y-%m-%d")
            typer.echo(f"{who} 的绑定码（{expires} 前有效，只能使用一次）: {invite.code}")


def invite_all_students(settings: Settings, engine, *, school: str | None, out: Path) -> None:
    """Write student_no,name,class,code for every student without a chat binding."""
    with session_scope(engine) as session:
        bound = exists().where(
            ChannelAccount.person_kind == "student", ChannelAccount.person_id == Student.id
        )
        query = (
            select(Student, SchoolClass.name)
            .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
            .where(~bound)
            .order_by(Student.student_no)
        )
        if school:
            school_row = session.exec(select(School).where(School.name == school)).first()
            if school_row is None:
                _fail(f"找不到学校：{school}")
            query = query.where(Student.school_id == school_row.id)
        now = utcnow()
        count = 0
        with out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["student_no", "name", "class", "code"])
            for student, class_name in session.exec(query).all():
                invite = issue_invite(
                    session,
                    person_kind="student",
                    person_id=student.id,
                    school_id=student.school_id,
                    now=now,
                    ttl_days=settings.invite.ttl_days,
                )
                writer.writerow([student.student_no, student.name, class_name or "", invite.code])
                count += 1
        record(
            session,
            actor="cli",
            action="invite.bulk",
            target_kind="school",
            target_id=school or "*",
            count=count,
        )
    typer.echo(f"已为 {count} 名未绑定的学生生成绑定码，写入 {out}")
