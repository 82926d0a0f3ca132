"""Schools and the people in them: majors, classes, teachers, students, parents, companies."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow


class School(SQLModel, table=True):
    __tablename__ = "schools"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    city: str = Field(default="", max_length=60)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class Major(SQLModel, table=True):
    __tablename__ = "majors"
    __table_args__ = (UniqueConstraint("school_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id", index=True)
    name: str = Field(max_length=120)


class Teacher(SQLModel, table=True):
    __tablename__ = "teachers"
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id", index=True)
    name: str = Field(max_length=60)
    phone: str = Field(max_length=20, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class SchoolClass(SQLModel, table=True):
    __tablename__ = "classes"
    __table_args__ = (UniqueConstraint("school_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id", index=True)
    major_id: int | None = Field(default=None, foreign_key="majors.id")
    name: str = Field(max_length=120)


class Student(SQLModel, table=True):
    __tablename__ = "students"
    __table_args__ = (Index("ix_students_school_class", "school_id", "class_id"),)
    id: int | None = Field(default=None, primary_key=True)
    student_no: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=60)
    gender: str = Field(default="", max_length=4)  # "男" / "女" / ""
    phone: str = Field(default="", max_length=20, index=True)
    birth_date: date | None = None
    school_id: int = Field(foreign_key="schools.id")
    major_id: int | None = Field(default=None, foreign_key="majors.id")
    class_id: int | None = Field(default=None, foreign_key="classes.id")
    teacher_id: int | None = Field(default=None, foreign_key="teachers.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class Parent(SQLModel, table=True):
    __tablename__ = "parents"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    phone: str = Field(max_length=20, unique=True)


class Guardianship(SQLModel, table=True):
    """Which parent or guardian belongs to which student (a parent may have several children)."""

    __tablename__ = "guardianships"
    student_id: int = Field(foreign_key="students.id", primary_key=True)
    parent_id: int = Field(foreign_key="parents.id", primary_key=True, index=True)


class Company(SQLModel, table=True):
    __tablename__ = "companies"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=160, unique=True)
    industry: str = Field(default="", max_length=60)
    city: str = Field(default="", max_length=60)


class Mentor(SQLModel, table=True):
    """A company mentor (企业导师), optional; binds in chat like teachers."""

    __tablename__ = "mentors"
    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="companies.id", index=True)
    name: str = Field(max_length=60)
    phone: str = Field(max_length=20, unique=True)
