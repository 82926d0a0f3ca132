"""`shixi demo`: a deterministic demo province built through the same roster upsert as imports."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import typer
from sqlalchemy import func, select, update

from api.commands.demo_history import History, build_history, write_history
from api.commands.demo_surveys import build_surveys, write_surveys
from core.accounts import hash_password
from core.demo_data import (
    CITIES,
    COMPANY_WORDS,
    GIVEN_ANY,
    GIVEN_FEMALE,
    GIVEN_MALE,
    INDUSTRIES,
    SCHOOL_WEIGHTS,
    SCHOOLS,
    STREETS,
    SURNAME_BOOST,
    SURNAMES,
)
from core.major_match import matches_major
from core.roster import COLUMNS, RosterRow, city_of
from core.settings import Settings
from core.workdays import parse_workdays
from models import ChannelAccount, ConsoleUser, Placement, School, Student, Teacher
from models.audit import record
from models.db import make_engine, refresh_statistics, session_scope
from models.migrate import upgrade
from models.roster_upsert import upsert_roster
from scheduler.compliance import check_compliance
from scheduler.dashboards import refresh_dashboards

DEMO_TEACHER = "teacher"
DEMO_PASSWORD = "shixi-demo"  # printed at the end; a demo database holds no real people
STUDENTS_PER_CLASS = 40
STUDENTS_PER_TEACHER = 30
CHANGED_COMPANY_SHARE = 0.04
SHIFTS = ((time(8, 0), time(17, 0)), (time(8, 30), time(17, 30)), (time(9, 0), time(18, 0)))
PHONE_PREFIXES = ("133", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159",
                  "166", "177", "180", "182", "183", "187", "188", "189", "199")  # fmt: skip
NOT_EMPTY = "数据库中已有数据（{n} 所学校），shixi demo 只在空数据库上运行。"
SKIPPED = "数据库中已有数据，跳过演示数据。"


@dataclass(frozen=True)
class Site:
    """A demo company: where it is and how it works."""

    name: str
    industry: str
    city: str
    address: str
    point: tuple[float, float]
    shift: tuple[time, time]
    workdays: str
    radius_m: int


class Maker:
    """Draws every random choice from one seeded generator, so a seed gives one province."""

    def __init__(self, seed: int, today: date, days: int):
        self.rng = random.Random(seed)
        self.today, self.days = today, days
        self.phones: set[str] = set()
        self.surnames = SURNAMES + SURNAME_BOOST

    def phone(self) -> str:
        while True:
            number = self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def person(self, gender: str, surname: str | None = None) -> str:
        pool = GIVEN_MALE if gender == "男" else GIVEN_FEMALE
        given = self.rng.choice(pool)
        if self.rng.random() < 0.6:
            given = self.rng.choice(GIVEN_ANY + pool) + given
        return (surname or self.rng.choice(self.surnames)) + given

    def sites(self, count: int) -> dict[str, list[Site]]:
        cities = list(CITIES)
        weights = [CITIES[c][3] for c in cities]
        by_industry: dict[str, list[Site]] = {i: [] for i in INDUSTRIES}
        names: set[str] = set()
        while sum(map(len, by_industry.values())) < count:
            industry = self.rng.choice(list(INDUSTRIES))
            patterns, _, _ = INDUSTRIES[industry]
            city = self.rng.choices(cities, weights)[0]
            prefix, (lat, lng), districts, _ = CITIES[city]
            name = self.rng.choice(patterns).format(
                c=city.removesuffix("市"), w=self.rng.choice(COMPANY_WORDS)
            )
            if name in names:
                continue
            names.add(name)
            street = f"{self.rng.choice(districts)}{self.rng.choice(STREETS)}"
            # Within a few km of the centre: where the industrial parks and shops are.
            point = (
                round(lat + self.rng.uniform(-0.045, 0.045), 6),
                round(lng + self.rng.uniform(-0.05, 0.05), 6),
            )
            by_industry[industry].append(
                Site(
                    name=name,
                    industry=industry,
                    city=city,
                    address=f"{prefix}{street}{self.rng.randint(1, 399)}号",
                    point=point,
                    shift=self.rng.choices(SHIFTS, (3, 4, 3))[0],
                    workdays=self.rng.choices(("1-5", "1-6"), (7, 3))[0],
                    radius_m=self.rng.choice((300, 500, 500, 500, 800, 1000)),
                )
            )
        return {k: v for k, v in by_industry.items() if v}


def _split(total: int, weights) -> list[int]:
    """Largest-remainder split of `total` by `weights`."""
    raw = [total * w / sum(weights) for w in weights]
    counts = [math.floor(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _compliance_facts(m: Maker, student: dict, salary: int, start: date) -> dict:
    """What a real roster says about the rules, with the lapses inspections find (SPEC 12)."""
    r = m.rng.random
    cohort = int(student["student_no"][:4])
    grade = 1 if r() < 0.01 else max(1, min(3, m.today.year - cohort + (m.today.month >= 9)))
    birth = student["birth_date"]
    if r() < 0.07:  # a younger student: 16 or 17 when the placement began
        birth = start - timedelta(days=m.rng.randint(16 * 365 + 10, 18 * 365 - 10))
    elif r() < 0.004:  # and now and then one under 16
        birth = start - timedelta(days=m.rng.randint(15 * 365, 16 * 365 - 20))
    student["birth_date"] = birth
    wage = round(salary / m.rng.uniform(0.72, 1.1), -2)
    return dict(
        grade=grade,
        arranged_by=m.rng.choices(("school", "self", "agency", None), (78, 17, 2, 3))[0],
        guardian_consent=m.rng.choices((True, False, None), (90, 4, 6))[0],
        post_wage=int(wage) if r() < 0.85 else None,
        company_headcount=m.rng.choice((12, 40, 120, 300, 800, None)),
        post_headcount=m.rng.choice((4, 10, 25, 60, None)),
    )


def _row(m: Maker, line: int, student: dict, site: Site, start: date, end: date) -> RosterRow:
    position = m.rng.choice(INDUSTRIES[site.industry][1])
    low, high = INDUSTRIES[site.industry][2]
    lat, lng = site.point
    salary = m.rng.randrange(low, high + 1, 100)
    student = dict(student)
    facts = _compliance_facts(m, student, salary, start)
    shift = site.shift
    if m.rng.random() < 0.02:  # an evening shift that runs past 22:00
        shift = (time(14, 30), time(23, 0))
    return RosterRow(
        line=line,
        **student,
        company=site.name,
        industry=site.industry,
        position=position,
        address=site.address,
        city=city_of(site.address),
        latitude=lat,
        longitude=lng,
        coord_system="gcj02",
        norm_lat=lat,  # demo points are GCJ-02 already
        norm_lng=lng,
        radius_m=site.radius_m,
        shift_start=shift[0],
        shift_end=shift[1],
        workdays=site.workdays,
        workdays_mask=parse_workdays(site.workdays),
        start_date=start,
        end_date=end,
        monthly_salary=salary,
        arranged_by_school=facts["arranged_by"] == "school",
        agreement_signed=m.rng.choices((True, False, None), (92, 5, 3))[0],
        insured=m.rng.choices((True, False, None), (88, 8, 4))[0],
        matches_major=matches_major(student["major"], position, site.industry),
        **facts,
    )


def build_roster(m: Maker, students: int) -> list[RosterRow]:
    """Schools, classes, teachers, students, parents and placements as roster rows."""
    sites = m.sites(max(12, students // 12))
    industries = list(sites)
    rows: list[RosterRow] = []
    for s_idx, (school, count) in enumerate(
        zip(SCHOOLS, _split(students, SCHOOL_WEIGHTS), strict=True)
    ):
        majors = SCHOOLS[school][2]
        teachers = [
            (m.person(m.rng.choice("男女")), m.phone())
            for _ in range(max(1, math.ceil(count / STUDENTS_PER_TEACHER)))
        ]
        n = 0
        for m_idx, (major, per_major) in enumerate(
            zip(majors, _split(count, [1] * len(majors)), strict=True)
        ):
            abbr, preferred = majors[major]
            for k in range(per_major):
                year = 2023 + (k % 2)  # a mix of second- and third-year cohorts
                gender = "男" if m.rng.random() < 0.55 else "女"
                name = m.person(gender)
                teacher = teachers[n // STUDENTS_PER_TEACHER % len(teachers)]
                n += 1
                student = {
                    "student_no": f"{year}{s_idx + 1:02d}{m_idx + 1:02d}{k + 1:04d}",
                    "name": name,
                    "gender": gender,
                    "phone": m.phone(),
                    "birth_date": date(year - 18, m.rng.randint(1, 12), m.rng.randint(1, 28)),
                    "school": school,
                    "major": major,
                    "class_name": f"{abbr}{year % 100}{k // STUDENTS_PER_CLASS + 1:02d}",
                    "teacher_name": teacher[0],
                    "teacher_phone": teacher[1],
                    "parent_name": m.person(m.rng.choice("男女"), surname=name[0]),
                    "parent_phone": m.phone(),
                }
                pool = [i for i in preferred if i in sites] if m.rng.random() < 0.72 else []
                industry = m.rng.choice(pool or industries)
                start = m.today - timedelta(days=m.days + m.rng.randint(0, 40))
                end = start + timedelta(days=m.rng.choice((150, 180, 180, 210)))
                first = m.rng.choice(sites[industry])
                if m.rng.random() < CHANGED_COMPANY_SHARE and m.days >= 6:
                    switch = m.today - timedelta(days=m.rng.randint(2, m.days - 3))
                    rows.append(
                        _row(m, len(rows) + 2, student, first, start, switch - timedelta(1))
                    )
                    second = m.rng.choice(sites[m.rng.choice(industries)])
                    if second != first:
                        rows.append(_row(m, len(rows) + 2, student, second, switch, end))
                        continue
                    rows.pop()
                rows.append(_row(m, len(rows) + 2, student, first, start, end))
    return rows


def _create_users(session, password: str) -> list[tuple[str, str]]:
    users = [("admin", "province", None)]
    ids = dict(session.execute(select(School.name, School.id)).all())
    users += [(code, "school", ids[name]) for name, (code, _, _) in SCHOOLS.items()]
    password_hash = hash_password(password)  # one hash: the demo users share a password
    for username, role, school_id in users:
        session.add(
            ConsoleUser(
                username=username, password_hash=password_hash, role=role, school_id=school_id
            )
        )
    # One teacher, so the teacher's dashboard can be tried: the first school's first teacher.
    first = session.execute(select(Teacher).order_by(Teacher.id).limit(1)).scalar_one_or_none()
    if first is not None:
        session.add(
            ConsoleUser(
                username=DEMO_TEACHER,
                password_hash=password_hash,
                role="teacher",
                school_id=first.school_id,
                teacher_id=first.id,
            )
        )
        users.append((DEMO_TEACHER, "teacher", first.school_id))
    return [(u, r) for u, r, _ in users]


def _bind_students(session, settings: Settings) -> None:
    """Every demo student bound in the terminal channel (`shixi chat --as <student_no>`) the
    evening before their placement started, so their history counts as due (core.due)."""
    rows = session.execute(
        select(Student.id, Student.student_no, Student.school_id, Student.name,
               func.min(Placement.start_date))
        .join(Placement, Placement.student_id == Student.id)
        .group_by(Student.id, Student.student_no, Student.school_id, Student.name)
    ).all()  # fmt: skip
    for student_id, no, school_id, name, start in rows:
        evening = datetime.combine(start - timedelta(days=1), time(20, 0), settings.tz)
        session.add(
            ChannelAccount(
                channel="console", external_id=no, person_kind="student", person_id=student_id,
                school_id=school_id, display_name=name, bound_at=evening,
            )
        )  # fmt: skip


def generate_demo(
    settings: Settings, engine, *, students: int, days: int, seed: int, now: datetime
) -> dict[str, int]:
    """Fill the database; returns counts of what was made."""
    today = now.astimezone(settings.tz).date()
    maker = Maker(seed, today, days)
    rows = build_roster(maker, students)
    with session_scope(engine) as session:
        upsert_roster(session, rows, columns=set(COLUMNS), now=now)
        for name, (_, city, _) in SCHOOLS.items():
            session.execute(update(School).where(School.name == name).values(city=city))
        history: History = build_history(session, settings, maker.rng, now=now, days=days)
        write_history(session, history, settings)
        surveys = build_surveys(session, settings, maker.rng, now=now, days=days)
        write_surveys(session, surveys)
        users = _create_users(session, DEMO_PASSWORD)
        _bind_students(session, settings)
        counts = {"students": len({r.student_no for r in rows}), "placements": len(rows)}
        counts |= history.counts() | {"surveys": len(surveys), "console_users": len(users)}
        record(session, actor="cli", action="demo.create", target_kind="database", **counts)
    with session_scope(engine) as session:  # the 合规 page has findings from the start
        counts["findings"] = check_compliance(session, settings, now)["new"]
    with session_scope(engine) as session:  # so the first dashboard visit is already fast
        refresh_dashboards(session, settings, now, every_school=True)
    with engine.connect() as conn:  # the history too (the roster import did its own tables)
        refresh_statistics(conn)
        conn.commit()
    return counts


def run_demo(settings: Settings, *, students: int, days: int, seed: int, if_empty: bool) -> None:
    if students < 1 or days < 1:
        typer.secho("--students 和 --days 必须是正整数", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    engine = make_engine(settings.database.url)
    upgrade(engine)
    with session_scope(engine) as session:
        existing = session.execute(select(func.count()).select_from(School)).scalar_one()
        has_students = session.execute(select(Student.id).limit(1)).first() is not None
    if existing or has_students:
        if if_empty:
            typer.echo(SKIPPED)
            return
        typer.secho(NOT_EMPTY.format(n=existing), fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    counts = generate_demo(
        settings, engine, students=students, days=days, seed=seed, now=datetime.now(settings.tz)
    )
    engine.dispose()
    typer.echo(
        "演示数据已生成：{students} 名学生，{placements} 个实习岗位，{checkins} 次签到，"
        "{journals} 篇日志，{tickets} 个工单，{alerts} 条预警，{findings} 项合规问题，"
        "{surveys} 份满意度问卷。".format(**counts)
    )
    schools = "、".join(code for code, _, _ in SCHOOLS.values())
    typer.echo(f"学校管理员用户名：{schools}；指导教师用户名：{DEMO_TEACHER}（密码同下）")
    host, port = settings.server.host, settings.server.port
    typer.echo(f"控制台登录: http://{host}:{port}/admin 用户名 admin 密码 {DEMO_PASSWORD}")
