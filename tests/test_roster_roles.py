"""Roster columns for more roles: a company mentor per placement, a second parent per student."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from api.commands.roster import import_file
from models import Guardianship, Mentor, Parent, Placement, Student

ROSTER = Path(__file__).parent / "fixtures" / "roster" / "mentors_and_parents.csv"


def test_mentor_and_second_parent_columns_are_imported(settings, engine, session):
    roster, tally = import_file(settings, engine, ROSTER)

    reasons = dict(roster.errors)
    assert sorted(reasons) == [4, 5]
    assert "家长2手机号 与家长手机号相同" in reasons[4]
    assert "有企业导师时必须填写导师手机号" in reasons[5]
    mentor = session.exec(select(Mentor)).one()
    assert (mentor.name, mentor.phone) == ("赵师傅", "13608520001")
    mentored = session.exec(select(Placement.mentor_id)).all()
    assert mentored == [mentor.id, mentor.id]
    liu = session.exec(select(Student).where(Student.student_no == "2023020101")).one()
    parents = session.exec(
        select(Parent.name)
        .join(Guardianship, Guardianship.parent_id == Parent.id)
        .where(Guardianship.student_id == liu.id)
        .order_by(Parent.id)
    ).all()
    assert parents == ["刘德华", "张慧"]
    assert tally["mentor"].created == 1 and tally["guardianship"].created == 3


def test_reimporting_mentors_and_parents_changes_nothing(settings, engine):
    import_file(settings, engine, ROSTER)

    _, tally = import_file(settings, engine, ROSTER)

    assert all(t.created == 0 and t.updated == 0 for t in tally.values())
