"""Console pages at work: grading, ticket workflow, invites, roster upload, lists, dashboard."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from openpyxl import load_workbook
from sqlmodel import select

from models import AuditLog, CaseNote, CheckIn, InviteCode, Journal, OutboxMessage, Ticket
from tests.api.console_world import build_world, csrf_of, login, make_client
from tests.factories import bind, make_student

ROSTER_HEADER = (
    "student_no,name,gender,school,major,class,teacher_name,teacher_phone,company,industry,"
    "position,address,latitude,longitude,shift_start,shift_end,workdays,start_date,end_date,"
    "monthly_salary,arranged_by_school"
)
GOOD_ROW = (
    "A100,孙新生,男,贵州交通职业技术学院,汽车检测与维修技术,汽修2301,李老师,13800000001,"
    "贵阳汽车服务有限公司,汽车,汽车维修,贵阳市观山湖区,26.5783,106.7135,09:00,18:00,1-5,"
    "2026-03-01,2026-07-31,3600,是"
)
BAD_ROW = GOOD_ROW.replace("A100,孙新生", "A101,周坏行").replace("09:00,18:00", "25:00,18:00")
OTHER_SCHOOL_ROW = GOOD_ROW.replace("A100,孙新生", "B100,吴外校").replace(
    "贵州交通职业技术学院", "贵州轻工职业技术学院"
)


def _signed_in(settings, engine, now, role):
    client = make_client(settings, engine, now)
    login(client, role)
    return client, csrf_of(client.get("/admin/students").text)


def test_grading_a_journal_records_the_score_and_notifies_the_student(
    settings, engine, session, now
):
    world = build_world(session, now)
    bind(
        session,
        person_kind="student",
        person_id=world.ids["mine"]["student"],
        channel="wechat",
        external_id="openid-mine",
    )
    session.commit()
    client, csrf = _signed_in(settings, engine, now, "teacher_a")
    jid = world.ids["mine"]["journal"]
    resp = client.post(
        f"/admin/journals/{jid}/grade", data={"score": "88", "comment": "内容充实", "csrf": csrf}
    )
    assert resp.status_code == 303
    session.expire_all()
    journal = session.get(Journal, jid)
    assert (journal.status, journal.score, journal.graded_by) == ("graded", 88, "teacher_a")
    msg = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "journal_graded")).one()
    assert msg.to_external_id == "openid-mine" and msg.quiet_hours and "88" in msg.text
    assert session.exec(select(AuditLog).where(AuditLog.action == "journal_graded")).one()
    assert "已批阅" in client.get(resp.headers["location"]).text


def test_a_score_outside_0_to_100_is_refused_with_a_message(settings, engine, session, now):
    world = build_world(session, now)
    client, csrf = _signed_in(settings, engine, now, "teacher_a")
    jid = world.ids["mine"]["journal"]
    for score in ("101", "-1", "abc", ""):
        resp = client.post(f"/admin/journals/{jid}/grade", data={"score": score, "csrf": csrf})
        assert resp.status_code == 400 and "0–100" in resp.text
    session.expire_all()
    assert session.get(Journal, jid).status == "submitted"


def test_a_ticket_moves_through_its_workflow_with_notes(settings, engine, session, now):
    world = build_world(session, now)
    bind(
        session,
        person_kind="student",
        person_id=world.ids["mine"]["student"],
        channel="wechat",
        external_id="openid-mine",
    )
    session.commit()
    client, csrf = _signed_in(settings, engine, now, "school_a")
    tid = world.ids["mine"]["ticket"]
    for action, note in (("acknowledge", "已联系企业"), ("handle", ""), ("resolve", "工资已补发")):
        resp = client.post(
            f"/admin/tickets/{tid}/status", data={"action": action, "note": note, "csrf": csrf}
        )
        assert resp.status_code == 303, resp.text
    session.expire_all()
    assert session.get(Ticket, tid).status == "resolved"
    notes = session.exec(select(CaseNote).where(CaseNote.case_id == tid)).all()
    assert [n.status for n in notes] == ["acknowledged", "handling", "resolved"]
    assert notes[-1].note == "工资已补发" and notes[-1].actor == "school_a"
    sent = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "ticket_status")).all()
    assert len(sent) == 3 and all(m.quiet_hours for m in sent)
    page = client.get(f"/admin/tickets/{tid}").text
    assert "已解决" in page and "工资已补发" in page
    again = client.post(f"/admin/tickets/{tid}/status", data={"action": "handle", "csrf": csrf})
    assert again.status_code == 409


def test_an_alert_can_be_resolved_with_a_note(settings, engine, session, now):
    world = build_world(session, now)
    client, csrf = _signed_in(settings, engine, now, "teacher_a")
    aid = world.ids["mine"]["alert"]
    resp = client.post(
        f"/admin/alerts/{aid}/status",
        data={"action": "resolve", "note": "学生生病请假", "csrf": csrf},
    )
    assert resp.status_code == 303
    assert "学生生病请假" in client.get(f"/admin/alerts/{aid}").text
    assert session.exec(select(AuditLog).where(AuditLog.action == "alert_resolve")).one()


def test_invite_codes_for_a_class_print_and_download(settings, engine, session, now):
    world = build_world(session, now)
    client, csrf = _signed_in(settings, engine, now, "school_a")
    class_id = world.ids["mine"]["class"]
    resp = client.post("/admin/invites", data={"class_id": class_id, "csrf": csrf})
    assert resp.status_code == 303
    codes = session.exec(select(InviteCode).where(InviteCode.person_kind == "student")).all()
    assert len(codes) == 1 and codes[0].person_id == world.ids["mine"]["student"]
    issued = len(session.exec(select(InviteCode)).all())  # the parent's and teacher's too
    client.post("/admin/invites", data={"class_id": class_id, "csrf": csrf})
    assert len(session.exec(select(InviteCode)).all()) == issued  # a valid code is reused
    assert codes[0].code in client.get(f"/admin/invites/{class_id}").text
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/admin/invites/{class_id}?format=csv").content.decode("utf-8-sig")
            )
        )
    )
    assert rows[0][:4] == ["student_no", "name", "class", "code"]
    assert rows[1][:4] == ["A001", "王小明", "汽修2301", codes[0].code]
    assert rows[0][5] == "role" and rows[1][5] == "学生"
    # The class's parents and teachers follow, each with the code that binds their role.
    others = {row[5] for row in rows[2:]}
    assert others == {"家长", "指导教师"}
    assert len(rows) - 1 == issued  # every code issued for the class is on the download


def test_roster_upload_shows_accepted_and_rejected_rows(settings, engine, session, now):
    build_world(session, now)
    client, csrf = _signed_in(settings, engine, now, "school_a")
    body = "\n".join([ROSTER_HEADER, GOOD_ROW, BAD_ROW, OTHER_SCHOOL_ROW]) + "\n"
    resp = client.post(
        "/admin/roster",
        data={"csrf": csrf},
        files={"file": ("名册.csv", body.encode("utf-8"), "text/csv")},
    )
    assert resp.status_code == 200, resp.text
    assert 'id="accepted-count">1<' in resp.text and 'id="rejected-count">2<' in resp.text
    assert "孙新生" in resp.text
    assert "不是您所在的学校" in resp.text
    assert "上班时间" in resp.text  # the bad row's reason names the column
    assert client.get("/admin/students?q=孙新生").text.count("A100") >= 1
    assert session.exec(select(AuditLog).where(AuditLog.action == "roster.import")).one()


def test_roster_upload_refuses_other_file_types_clearly(settings, engine, session, now):
    build_world(session, now)
    client, csrf = _signed_in(settings, engine, now, "province")
    resp = client.post(
        "/admin/roster",
        data={"csrf": csrf},
        files={"file": ("roster.pdf", b"%PDF", "application/pdf")},
    )
    assert resp.status_code == 400 and ".csv" in resp.text


def test_lists_paginate_sort_and_export(settings, engine, session, now):
    for i in range(5):
        make_student(session, student_no=f"P00{i}", name=f"学生{i}")
    session.commit()
    build_world(session, now)
    small = settings.model_copy(deep=True)
    small.console.page_size = 2
    client, _ = _signed_in(small, engine, now, "province")
    first = client.get("/admin/students?sort=student_no").text
    assert "共 8 条" in first and "第 1 / 4 页" in first and "A001" in first and "P000" not in first
    last = client.get("/admin/students?sort=student_no&desc=1&page=1").text
    assert "P004" in last and "A001" not in last
    assert client.get("/admin/students?sort=password").status_code == 400
    assert client.get("/admin/students?page=abc").status_code == 400
    xlsx = client.get("/admin/students?format=xlsx&q=学生")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "学号" and len(rows) == 6  # every match, not one page


def test_checkins_of_a_day_show_missing_outside_and_late(settings, engine, session, now):
    world = build_world(session, now)
    late = session.get(CheckIn, world.ids["colleague"]["checkin"])
    late.at = now + timedelta(minutes=20)  # shift starts 09:00
    session.add(late)
    absent = make_student(session, student_no="A003", name="缺勤生", school="贵州交通职业技术学院")
    bind(session, person_kind="student", person_id=absent.id, external_id="A003")
    make_student(session, student_no="A004", name="未绑生", school="贵州交通职业技术学院")
    session.commit()
    client, _ = _signed_in(settings, engine, now, "school_a")
    missing = client.get("/admin/checkins?status=missing&date=2026-03-02").text
    assert "缺勤生" in missing and "王小明" not in missing
    assert "未绑生" not in missing  # never bound: not due, listed apart
    assert "未绑生" in client.get("/admin/checkins?status=unbound&date=2026-03-02").text
    outside = client.get("/admin/checkins?status=outside").text
    assert "赵小红" in outside and "王小明" not in outside
    late_page = client.get("/admin/checkins?status=late").text
    assert "赵小红" in late_page and "王小明" not in late_page
    assert client.get("/admin/checkins?date=2026-13-01").status_code == 400
    sunday = client.get("/admin/checkins?status=missing&date=2026-03-01").text
    assert "缺勤生" not in sunday  # not a workday


def test_the_dashboard_shows_figures_with_rate_definitions(settings, engine, session, now):
    build_world(session, now)
    client, _ = _signed_in(settings, engine, now, "province")
    page = client.get("/admin/").text
    for label in ("对口率", "统一安排率", "稳定率", "签到率", "周记提交率", "实习人数", "上岗数"):
        assert label in page
    assert 'title="已上岗的实习中，由学校统一安排' in page
    assert "/static/vendor/echarts.min.js" in page
    assert client.get("/static/vendor/echarts.min.js").status_code == 200
    figures = client.get("/admin/overview.json").json()
    assert figures["rates"]["arranged"]["value"] == 1.0
    assert figures["rates"]["stable"]["value"] == 1.0
    assert figures["totals"] == {
        "students": 3,
        "teachers": 3,
        "schools": 2,
        "companies": 2,
        "interning": 3,
        "started": 3,
    }
    assert figures["ranking"][0] == {"school": "贵州交通职业技术学院", "value": 2}
    feed = client.get("/admin/feed.json").json()["items"]
    assert feed and "lat" not in str(feed) and "26.58" not in str(feed)


def test_save_and_next_goes_to_the_oldest_journal_still_waiting(settings, engine, session, now):
    world = build_world(session, now)
    older = Journal(
        school_id=1,
        student_id=world.ids["mine"]["student"],
        kind="daily",
        period_start=now.date(),
        text="今天学习了轮胎更换。" * 10,
        char_count=100,
        submitted_at=now - timedelta(days=2),
    )
    session.add(older)
    session.commit()
    client, csrf = _signed_in(settings, engine, now, "teacher_a")
    listing = client.get("/admin/journals").text
    assert "今天学习了轮胎更换。今天学习了" in listing  # a preview of the text in the list
    first = world.ids["mine"]["journal"]
    resp = client.post(
        f"/admin/journals/{first}/grade", data={"score": "90", "then": "next", "csrf": csrf}
    )
    assert resp.headers["location"] == f"/admin/journals/{older.id}?graded_prev={first}"
    page = client.get(resp.headers["location"]).text
    assert "上一篇已批阅" in page and "保存并批阅下一篇" in page and "观察细致" in page
    resp = client.post(
        f"/admin/journals/{older.id}/grade", data={"score": "80", "then": "next", "csrf": csrf}
    )
    assert resp.headers["location"] == "/admin/journals?status=submitted&done=1"
    assert "没有更多待批阅的日志了" in client.get(resp.headers["location"]).text


def test_a_roster_preview_lists_the_changes_and_writes_nothing_until_confirmed(
    settings, engine, session, now
):
    from models import Student

    build_world(session, now)
    client, csrf = _signed_in(settings, engine, now, "school_a")
    body = "\n".join([ROSTER_HEADER, GOOD_ROW, BAD_ROW]) + "\n"
    resp = client.post(
        "/admin/roster",
        data={"csrf": csrf, "step": "preview"},
        files={"file": ("名册.csv", body.encode("utf-8"), "text/csv")},
    )
    assert resp.status_code == 200 and "预览（尚未写入）" in resp.text
    assert "新学生" in resp.text and "学生：将新建 1" in resp.text and "上班时间" in resp.text
    session.expire_all()
    assert not session.exec(select(Student).where(Student.student_no == "A100")).first()
    data = re.search(r'name="data" value="([^"]+)"', resp.text).group(1)
    resp = client.post(
        "/admin/roster",
        data={"csrf": csrf, "step": "import", "filename": "名册.csv", "data": data},
    )
    assert resp.status_code == 200 and "导入结果" in resp.text
    session.expire_all()
    assert session.exec(select(Student).where(Student.student_no == "A100")).one()
    again = client.post(
        "/admin/roster",
        data={"csrf": csrf, "step": "preview", "filename": "名册.csv", "data": data},
    )
    assert "已有学生" in again.text and "学生：将新建 0，将更新 0，不变 1" in again.text


def test_the_roster_template_has_chinese_headers_and_the_own_school(settings, engine, session, now):
    build_world(session, now)
    client, _ = _signed_in(settings, engine, now, "school_a")
    xlsx = client.get("/admin/roster/template.xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("学号*", "姓名*", "性别") and "贵州交通职业技术学院" in rows[1]
    text = client.get("/admin/roster/template.csv").content.decode("utf-8-sig")
    assert (
        text.startswith("学号*,姓名*")
        and client.get("/admin/roster/template.pdf").status_code == 404
    )
