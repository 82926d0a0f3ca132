"""Dashboard pieces: the to-do registry (items for tables still to come), rest-day notes."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from api.console.dashboard import day_note
from api.console.todo import REGISTRY, TodoContext, count_rows, todo_list
from models import ConsoleUser, MakeupRequest
from tests.api.console_world import build_world, login, make_client


def test_an_item_for_a_table_that_does_not_exist_yet_is_left_out(settings, session, now):
    build_world(session, now)
    teacher = session.exec(select(ConsoleUser).where(ConsoleUser.username == "teacher_a")).one()
    ctx = TodoContext(today=now.date(), settings=settings)
    assert count_rows("NoSuchTable", status="pending")(session, teacher, ctx) is None
    keys = [i["key"] for i in todo_list(session, teacher, ctx)]
    assert keys[:4] == ["absent", "journals", "tickets", "alerts"]
    import models

    assert ("leave" in keys) == hasattr(models, "Leave")  # shows once issue 13's table exists
    assert any(i.key == "leave" for i in REGISTRY) and any(i.key == "findings" for i in REGISTRY)


def test_a_registered_count_is_scoped_to_the_user(settings, session, now):
    world = build_world(session, now)
    for key in ("mine", "colleague"):
        session.add(
            MakeupRequest(
                school_id=world.ids[key]["school"],
                student_id=world.ids[key]["student"],
                day=date(2026, 2, 27),
                reason="手机没电",
            )
        )
    session.commit()
    pending = count_rows("MakeupRequest", status="pending")
    ctx = TodoContext(today=now.date(), settings=settings)
    by_name = {u.username: u for u in session.exec(select(ConsoleUser)).all()}
    assert pending(session, by_name["teacher_a"], ctx) == 1
    assert pending(session, by_name["school_a"], ctx) == 2


def test_each_role_sees_its_items_each_linking_to_its_list(settings, engine, session, now):
    build_world(session, now)
    expected = {
        "province": {"tickets": "/admin/tickets?status=unresolved"},
        "school_a": {
            "unbound": "/admin/students?bound=0",
            "absent": "/admin/checkins?status=missing",
        },
        "teacher_a": {"journals": "/admin/journals?status=submitted"},
    }
    for username, links in expected.items():
        client = make_client(settings, engine, now)
        login(client, username)
        page = client.get("/admin/").text
        for key, href in links.items():
            assert f'href="{href}' in page and f'id="todo-{key}"' in page, (username, key)
        assert ('id="todo-unbound"' in page) == (username == "school_a")
        assert client.get(links[next(iter(links))].split("&")[0]).status_code == 200


def test_holidays_and_rest_days_say_so(settings):
    assert "春节" in day_note(date(2026, 2, 17), settings, 0)
    assert "调休上班日" in day_note(date(2026, 2, 28), settings, 100)
    assert "今日应签到 1,200 人" in day_note(date(2026, 3, 7), settings, 1200)
    assert "没有需要签到" in day_note(date(2026, 3, 8), settings, 0)
    assert day_note(date(2026, 3, 9), settings, 900) == ""
