"""One calendar, every reader of "due on day D" and "late": their answers agree (issue 12).

Eight days, Monday 23 February to Monday 2 March 2026: the last day of the Spring Festival
holidays, ordinary weekdays, a config holiday (`[calendar] holidays`, Thursday 26th), the
official make-up Saturday (调休, 28th), a Sunday. One teacher's six students:
赵甲 checks in at 09:00:30 on Tuesday (on time: within the first minute) and 09:01:00 on
Wednesday (1 minute late); 钱乙 is on approved leave Friday to Monday; 孙丙 binds on Wednesday
after the nudge; 李丁 never binds; 周戊 works seven days; 吴己 works Mon/Wed/Fri from 08:00.
Each day the sweeps run at nudge and digest times, the teacher asks 今日, the students ask 状态,
and the console and API are read; each answer is compared with core.due.due_on. 签到率 over
the window is compared with the same rule.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import GUIYANG, add_checkin, bind, make_student
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from bot.pipeline import Pipeline
from bot.types import Inbound, Location
from core.accounts import create_token, create_user
from core.checkin_rate import checkin_rate
from core.due import due_on
from models import CheckIn, ConsoleUser, OutboxMessage, Student
from models.attendance import due_facts
from models.leave import create_leave
from scheduler.sweeps import run_sweeps

TZ = ZoneInfo("Asia/Shanghai")
DAYS = [date(2026, 2, 23) + timedelta(days=i) for i in range(8)]
TUE, WED, FRI, SUN = date(2026, 2, 24), date(2026, 2, 25), date(2026, 2, 27), date(2026, 3, 1)
CONFIG_HOLIDAY = date(2026, 2, 26)
PASSWORD = "correct-horse-42"
STUDENTS = {  # name: (student_no, placement shape)
    "赵甲": ("D1", {}),
    "钱乙": ("D2", {}),
    "孙丙": ("D3", {}),
    "李丁": ("D4", {}),
    "周戊": ("D5", {"workdays": "1-7"}),
    "吴己": ("D6", {"workdays": "1,3,5", "shift_start": time(8, 0)}),
}


def _at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=TZ)


class Reader:
    """Every consumer, asked about one day."""

    def __init__(self, engine, settings, ids: dict[str, int]):
        self.engine, self.settings, self.ids = engine, settings, ids
        self.names = {v: k for k, v in ids.items()}
        self.dispatch = Pipeline(engine, settings)
        self.clock = [_at(DAYS[0], 12)]
        app = create_app(settings, engine=engine)
        app.state.clock = lambda: self.clock[0]
        self.client = TestClient(app, follow_redirects=False)
        with Session(engine) as session:
            self.token = create_token(session, username="school")
            session.commit()
        self._login()

    def _login(self):
        page = self.client.get("/admin/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        self.client.post(
            "/admin/login", data={"username": "teacher", "password": PASSWORD, "csrf": csrf}
        )

    def chat(self, user: str, at: datetime, text: str = "", location=None) -> str:
        inbound = Inbound(
            channel="console", user_id=user, at=at, text=text, location=location,
            kind="location" if location else "text", intent="checkin" if location else None,
        )  # fmt: skip
        return "\n".join(r.text for r in self.dispatch(inbound))

    def outbox(self, kind: str, day: date) -> list[OutboxMessage]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(OutboxMessage).where(
                        OutboxMessage.kind == kind, OutboxMessage.day == day
                    )
                )
            )

    def nudged(self, day: date) -> set[str]:
        return {self.names[m.person_id] for m in self.outbox("nudge", day)}

    def digest(self, day: date) -> tuple[set[str], set[str]]:
        """(missing, 未绑定) over the day's digests."""
        missing, unbound = set(), set()
        for m in self.outbox("teacher_digest", day):
            head, _, rest = m.text.partition("未绑定")
            missing |= set(re.findall(r"\d+\. (\S\S)（", head))
            if rest:
                unbound |= set(re.search(r"人：([^（]+)", rest).group(1).split("、"))
        return missing, unbound

    def today(self, day: date) -> dict[str, set[str]]:
        reply = self.chat("teacher", _at(day, 12), "今日")
        found = {}
        for key, word in (("missing", "未签到"), ("leave", "请假"), ("unbound", "未绑定")):
            m = re.search(rf"{word} \d+ 人：(.+)", reply)
            found[key] = set(m.group(1).split("、")) if m else set()
        m = re.search(r"迟到 \d+ 人：(.+)", reply)
        found["late"] = {part.split()[0] for part in m.group(1).split("、")} if m else set()
        m = re.search(r"应签到 (\d+) 人", reply)
        found["due"] = int(m.group(1)) if m else 0
        return found

    def status(self, name: str, day: date) -> str:
        reply = self.chat(STUDENTS[name][0], _at(day, 12), "状态")
        return re.search(r"今天：(.+)", reply).group(1)

    def console(self, day: date, status: str) -> set[str]:
        page = self.client.get(f"/admin/checkins?date={day}&status={status}&page_size=50")
        assert page.status_code == 200, page.text
        return {name for name in self.ids if name in page.text}

    def api(self, day: date) -> dict[str, str]:
        self.clock[0] = _at(day, 12)
        resp = self.client.get(
            "/api/v1/students?page_size=50", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert resp.status_code == 200, resp.text
        by_no = {no: name for name, (no, _) in STUDENTS.items()}
        return {by_no[item["student_no"]]: item["today"] for item in resp.json()["items"]}


@pytest.fixture
def world(engine, settings):
    cfg = settings.model_copy(deep=True)
    cfg.calendar.holidays = [CONFIG_HOLIDAY]
    with Session(engine) as session:
        ids = {}
        for name, (no, shape) in STUDENTS.items():
            ids[name] = make_student(session, student_no=no, name=name, **shape).id
        for name in ("赵甲", "钱乙", "周戊", "吴己"):
            bind(session, person_kind="student", person_id=ids[name], external_id=STUDENTS[name][0])
        teacher = session.get(Student, ids["赵甲"]).teacher_id
        bind(session, person_kind="teacher", person_id=teacher, external_id="teacher")
        create_user(session, username="teacher", password=PASSWORD, role="teacher",
                    school_name="贵州交通职业技术学院", phone="13800000001")  # fmt: skip
        create_user(session, username="school", password=PASSWORD, role="school",
                    school_name="贵州交通职业技术学院")  # fmt: skip
        assert create_leave(
            session, student_id=ids["钱乙"], start=FRI, end=date(2026, 3, 2), reason="家中有事",
            today=DAYS[0], now=_at(DAYS[0], 8), max_past_days=7, approved_by="李老师",
        ).ok  # fmt: skip
        # Evidence of a rest day's work: recorded, but the day is not due.
        add_checkin(session, ids["赵甲"], SUN, 10, 0)
        session.commit()
    return cfg, ids


def _expected(engine, settings, ids, day):
    with Session(engine) as session:
        facts = due_facts(session, student_ids=ids.values(), first=day, last=day)
        checked = {
            sid for sid in session.exec(select(CheckIn.student_id).where(CheckIn.day == day))
        }
    names = {v: k for k, v in ids.items()}
    reason = {names[sid]: due_on(f, day, settings).reason for sid, f in facts.items()}
    done = {names[sid] for sid in checked}
    return reason, done


def test_every_reader_agrees_with_the_due_rule_and_lateness_day_by_day(engine, world):
    settings, ids = world
    reader = Reader(engine, settings, ids)
    late_receipts = {}
    for day in DAYS:
        if day == WED:  # 孙丙 binds after Wednesday's nudge time
            with Session(engine) as session:
                bind(session, person_kind="student", person_id=ids["孙丙"], external_id="D3",
                     bound_at=_at(WED, 10))  # fmt: skip
                session.commit()
        if day in (TUE, WED):
            at = _at(day, 9, 0, 30) if day == TUE else _at(day, 9, 1, 0)
            late_receipts[day] = reader.chat("D1", at, location=Location(*GUIYANG, "gcj02"))
        for hh, mm in ((8, 30), (9, 30), (10, 0), (11, 0)):
            run_sweeps(engine, settings, _at(day, hh, mm))
        reason, done = _expected(engine, settings, ids, day)
        missing = {n for n, r in reason.items() if r == "ok" and n not in done}
        leave = {n for n, r in reason.items() if r == "leave" and n not in done}
        unbound = {n for n, r in reason.items() if r == "unbound"}
        late = {"赵甲"} if day == WED else set()
        where = f"on {day}"

        assert reader.nudged(day) == missing, where
        assert reader.digest(day) == (missing, unbound), where
        today = reader.today(day)
        assert today["due"] == sum(r == "ok" for r in reason.values()), where
        assert (today["missing"], today["leave"], today["unbound"]) == (missing, leave, unbound)
        assert today["late"] == late, where
        for name in ("赵甲", "钱乙", "周戊", "吴己") + (("孙丙",) if day >= WED else ()):
            said = reader.status(name, day)
            if name in done:
                assert said.startswith("上班"), (where, name, said)
            elif reason[name] == "ok":
                assert said == "还没有签到。", (where, name, said)
            elif reason[name] == "leave":
                assert said == "已请假，无需签到。", (where, name, said)
            else:
                assert said == "无需签到。", (where, name, said)
        assert reader.console(day, "missing") == missing, where
        assert reader.console(day, "leave") == leave, where
        assert reader.console(day, "unbound") == unbound, where
        assert reader.console(day, "late") == late, where
        states = {
            n: "present" if n in done else {"ok": "missing", "leave": "leave",
                                             "unbound": "unbound"}.get(r, "off")
            for n, r in reason.items()
        }  # fmt: skip
        assert reader.api(day) == states, where

    assert "晚了" not in late_receipts[TUE]  # 09:00:30: within the first minute, on time
    assert "晚了 1 分钟" in late_receipts[WED]

    # 签到率 over the window that ends with these days, against the rule day by day.
    today = DAYS[-1] + timedelta(days=1)
    with Session(engine) as session:
        first = today - timedelta(days=30)
        facts = due_facts(session, student_ids=ids.values(), first=first, last=DAYS[-1])
        checked = set(session.exec(select(CheckIn.student_id, CheckIn.day)).all())
        due = [
            (sid, first + timedelta(days=i))
            for sid, f in facts.items()
            for i in range(30)
            if due_on(f, first + timedelta(days=i), settings).ok
        ]
        province = ConsoleUser(username="p", role="province", password_hash="x")
        rate = checkin_rate(session, province, today=today, settings=settings)
    assert (rate["num"], rate["den"]) == (sum(d in checked for d in due), len(due))
    assert rate["num"] == 2  # Tuesday and Wednesday; Sunday's check-in was not due
