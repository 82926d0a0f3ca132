"""The class invite sheet covers students, their parents and their teachers, each with a code
of their own; with WeChat on it names the account, not a Telegram bot."""

from __future__ import annotations

import re

from sqlmodel import select

from models import InviteCode
from tests.api.console_world import build_world, csrf_of, login, make_client


def test_a_class_sheet_has_codes_for_students_parents_and_teachers(settings, engine, session, now):
    world = build_world(session, now)
    both = settings.model_copy(deep=True)
    both.wechat.app_secret = ""  # no QR codes without the API
    both.wechat.account_name = "贵州交院实习"
    both.telegram.bot_username = "gzjt_bot"
    client = make_client(both, engine, now)
    login(client, "school_a")
    csrf = csrf_of(client.get("/admin/students").text)
    class_id = world.ids["mine"]["class"]

    client.post("/admin/invites", data={"class_id": class_id, "csrf": csrf})
    sheet = client.get(f"/admin/invites/{class_id}").text

    kinds = session.exec(select(InviteCode.person_kind)).all()
    assert {"student", "parent", "teacher"} <= set(kinds)
    assert '<h2 class="sheet-section">家长</h2>' in sheet and "的家长" in sheet
    assert '<h2 class="sheet-section">指导教师</h2>' in sheet
    printed = set(re.findall(r'class="code">(\w+)<', sheet))
    session.expire_all()
    live = set(session.exec(select(InviteCode.code).where(InviteCode.used_at.is_(None))).all())
    assert printed and printed <= live
    assert {"parent", "teacher"} <= {
        session.exec(select(InviteCode.person_kind).where(InviteCode.code == c)).one()
        for c in printed
    }
    assert "关注「贵州交院实习」" in sheet and "gzjt_bot" not in sheet  # mainland: WeChat only
    # Issuing again makes no second code for anyone who has a valid one.
    before = len(kinds)
    client.post("/admin/invites", data={"class_id": class_id, "csrf": csrf})
    assert len(session.exec(select(InviteCode.id)).all()) == before
