"""Every role binds in chat with its own code: student, parents, teacher, mentor, school admin."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.invites import issue_invite
from models import ChannelAccount
from tests.factories import make_roles


def _code(session, now, kind: str, person_id: int, school_id: int | None) -> str:
    invite = issue_invite(
        session, person_kind=kind, person_id=person_id, school_id=school_id, now=now, ttl_days=7
    )
    session.commit()
    return invite.code


@pytest.fixture
def world(session):
    return make_roles(session)


@pytest.mark.parametrize(
    "who", ["student", "parent", "parent2", "teacher", "mentor", "school_admin"]
)
def test_each_role_binds_in_chat_with_its_own_code(session, chat_factory, now, world, who):
    kind, person_id, school_id, name = world[who]
    code = _code(session, now, kind, person_id, school_id)

    reply = chat_factory(f"{who}-1").send(f"绑定 {code}")

    assert reply.startswith(f"绑定成功：{name}"), reply
    account = session.exec(select(ChannelAccount)).one()
    assert (account.person_kind, account.person_id) == (kind, person_id)


def test_both_parents_of_a_student_bind_at_once(session, chat_factory, now, world):
    codes = [_code(session, now, *world[who][:3]) for who in ("parent", "parent2")]

    for i, code in enumerate(codes):
        assert chat_factory(f"p{i}").send(f"绑定 {code}").startswith("绑定成功：家长")

    kinds = session.exec(select(ChannelAccount.person_kind, ChannelAccount.person_id)).all()
    assert sorted(kinds) == sorted(
        [("parent", world["parent"][1]), ("parent", world["parent2"][1])]
    )
