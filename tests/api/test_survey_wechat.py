"""A satisfaction survey end to end: sent by the sweep, answered over POST /wechat, counted."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select
from wechat_craft import OPENID, craft, fixture, open_reply

from api.app import create_app
from core.accounts import create_token, create_user
from models import OutboxMessage, Survey
from scheduler.sweeps import run_sweeps
from tests.conftest import TZ
from tests.factories import bind, make_student

SENT = datetime(2026, 3, 3, 10, 0, tzinfo=TZ)  # 30 days into a placement started 2026-02-01


class Phone:
    """The student's WeChat: crafted, encrypted text callbacks at the app's pinned clock."""

    def __init__(self, client, settings, clock):
        self.client, self.settings, self.clock, self.n = client, settings, clock, 0

    def send(self, content: str) -> str:
        self.n += 1
        xml = fixture("text.xml", Content=content, FromUserName=OPENID, MsgId=f"7{self.n:016d}")
        params, body = craft(self.settings, xml, at=self.clock[0], mode="safe", nonce=f"n{self.n}")
        r = self.client.post("/wechat", params=params, content=body)
        assert r.status_code == 200, r.text
        return open_reply(self.settings, r.text)["Content"]


def _world(session: Session):
    student = make_student(session, student_no="S001", name="张三")
    bind(
        session,
        person_kind="student",
        person_id=student.id,
        channel="wechat",
        external_id=OPENID,
        school_id=student.school_id,
    )
    create_user(session, username="province", password="correct-horse-42", role="province")
    token = create_token(session, username="province")
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_survey_is_sent_on_time_answered_over_wechat_and_shown_on_the_dashboard(
    settings, engine, session
):
    auth = _world(session)
    clock = [SENT - timedelta(minutes=1)]
    app = create_app(settings, engine=engine)
    app.state.clock = lambda: clock[0]
    with TestClient(app) as client:
        app.state.wechat.budget_s = 30  # the first message may load jieba's dictionary
        phone = Phone(client, settings, clock)
        assert run_sweeps(engine, settings, clock[0])["surveys"] == 0  # 09:59: not yet
        clock[0] = SENT
        assert run_sweeps(engine, settings, clock[0])["surveys"] == 1
        with Session(engine) as s:
            push = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "survey")).one()
        assert push.channel == "wechat" and push.to_external_id == OPENID
        assert "第 1/5 题" in push.text

        clock[0] = SENT + timedelta(minutes=20)
        hint = phone.send("6")
        assert "请回复 1 到 5 之间的一个数字" in hint and "第 1/5 题" in hint
        assert "请回复 1 到 5 之间的一个数字" in phone.send("还行吧")
        assert "第 2/5 题" in phone.send("5")
        assert "还有什么意见或建议" in phone.send("4 4 5 3")  # several at once, in order
        thanks = phone.send("师傅很耐心，就是宿舍有点远")
        assert "问卷已提交" in thanks and "4.2" in thanks
        assert "没有需要填写的问卷" in phone.send("问卷")

        with Session(engine) as s:
            survey = s.exec(select(Survey)).one()
        assert survey.status == "answered" and survey.scores() == [5, 4, 4, 5, 3]
        assert survey.comment == "师傅很耐心，就是宿舍有点远"

        listed = client.get("/api/v1/surveys?status=answered", headers=auth).json()
        assert listed["total"] == 1
        item = listed["items"][0]
        assert item["student_no"] == "S001" and item["respondent_kind"] == "student"
        assert item["scores"] == [5, 4, 4, 5, 3] and item["average"] == 4.2

        figures = client.get("/api/v1/stats/overview", headers=auth).json()
        student_row = figures["satisfaction"]["kinds"][0]
        assert student_row["kind"] == "student" and student_row["answered"] == 1
        assert student_row["average"] == 4.2 and student_row["questions"] == [5, 4, 4, 5, 3]
        assert figures["rates"]["satisfied"]["value"] == 1.0
        assert figures["rates"]["satisfied"]["label"] == "满意度"


def test_cancel_pauses_a_survey_and_the_word_survey_resumes_where_it_stopped(
    settings, engine, session
):
    _world(session)
    clock = [SENT]
    app = create_app(settings, engine=engine)
    app.state.clock = lambda: clock[0]
    with TestClient(app) as client:
        app.state.wechat.budget_s = 30
        phone = Phone(client, settings, clock)
        run_sweeps(engine, settings, SENT)
        clock[0] = SENT + timedelta(minutes=5)
        assert "第 2/5 题" in phone.send("３")  # a full-width digit from a Chinese keyboard
        assert "问卷已暂停" in phone.send("取消")
        assert "实习单位：" in phone.send("状态")  # a command word is answered as usual
        assert "第 2/5 题" in phone.send("问卷")
        assert "第 3/5 题" in phone.send("4分")
