"""Moving alerts and tickets in the console tells the right person, as 处理 does in chat."""

from __future__ import annotations

from sqlmodel import select

from models import Alert, OutboxMessage, Student
from tests.api.console_world import build_world, csrf_of, login, make_client
from tests.factories import bind


def _signed_in(settings, engine, now, username):
    client = make_client(settings, engine, now)
    login(client, username)
    return client, csrf_of(client.get("/admin/students").text)


def _world_in_chat(session, now):
    """The console world with 王小明 and his teacher 李老师 bound in WeChat."""
    world = build_world(session, now)
    student = session.get(Student, world.ids["mine"]["student"])
    bind(session, person_kind="student", person_id=student.id, channel="wechat", external_id="s")
    bind(
        session,
        person_kind="teacher",
        person_id=student.teacher_id,
        channel="wechat",
        external_id="t",
    )
    session.commit()
    return world, student.teacher_id


def _outbox(session, kind: str) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)).all())


def test_a_school_admin_moving_an_alert_tells_the_students_teacher(settings, engine, session, now):
    world, teacher_id = _world_in_chat(session, now)
    client, csrf = _signed_in(settings, engine, now, "school_a")
    aid = world.ids["mine"]["alert"]
    for action, note in (("acknowledge", ""), ("resolve", "已联系家长，学生生病请假")):
        resp = client.post(
            f"/admin/alerts/{aid}/status", data={"action": action, "note": note, "csrf": csrf}
        )
        assert resp.status_code == 303, resp.text
    told = _outbox(session, "alert_status")
    assert [(m.person_kind, m.person_id) for m in told] == [("teacher", teacher_id)] * 2
    head = f"预警 A{aid}（王小明，缺勤）已更新为"
    assert told[0].text == f"{head}「已受理」。"
    assert told[1].text == f"{head}「已解决」。已联系家长，学生生病请假"
    assert not told[0].quiet_hours  # teachers are not held back by the students' quiet hours
    assert _outbox(session, "ticket_status") == []  # the student is not told of alerts


def test_the_teacher_moving_their_own_alert_and_a_note_alone_tell_nobody(
    settings, engine, session, now
):
    world, _ = _world_in_chat(session, now)
    aid = world.ids["mine"]["alert"]
    teacher, csrf = _signed_in(settings, engine, now, "teacher_a")
    resp = teacher.post(f"/admin/alerts/{aid}/status", data={"action": "handle", "csrf": csrf})
    assert resp.status_code == 303
    admin, csrf = _signed_in(settings, engine, now, "school_a")
    data = {"action": "note", "note": "明天再回访", "csrf": csrf}
    assert admin.post(f"/admin/alerts/{aid}/status", data=data).status_code == 303
    session.expire_all()
    assert session.get(Alert, aid).status == "handling"
    assert _outbox(session, "alert_status") == []


def test_a_console_ticket_move_tells_the_student_like_chat_and_its_alert_follows(
    settings, engine, session, now
):
    world, _ = _world_in_chat(session, now)
    tid, aid = world.ids["mine"]["ticket"], world.ids["mine"]["alert"]
    alert = session.get(Alert, aid)
    alert.kind, alert.ticket_id = "urgent_ticket", tid
    session.add(alert)
    session.commit()
    client, csrf = _signed_in(settings, engine, now, "school_a")
    data = {
        "action": "resolve",
        "note": "企业财务周五补发，已约谈负责人",
        "reply": "工资已补发，请查收",
        "csrf": csrf,
    }
    assert client.post(f"/admin/tickets/{tid}/status", data=data).status_code == 303
    (to_student,) = _outbox(session, "ticket_status")
    assert to_student.person_kind == "student"
    # The staff note stays on the ticket; the student reads the status and the reply only.
    assert to_student.text == f"您的工单 T{tid} 状态：已解决。\n老师回复：工资已补发，请查收"
    assert session.get(Alert, aid).status == "resolved"
