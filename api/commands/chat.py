"""`shixi chat --as`: the terminal channel, a REPL through the same dispatcher and handlers."""

from __future__ import annotations

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.console import LOCATION_COMMAND, ConsoleChannel
from bot.pipeline import Pipeline
from core.settings import Settings
from models import ChannelAccount, Parent, Student, Teacher
from models.types import utcnow

WELCOME = (
    "以 {who} 的身份与实习助手对话。发送位置：{loc} <纬度> <经度> [坐标系]；退出：/quit 或 Ctrl-D。"
)
QUIT = {"/quit", "/exit", "退出"}


def find_person(session: Session, who: str) -> tuple[str, int, int | None, str] | None:
    """(kind, id, school_id, name) of the student with that number or the person with that phone."""
    student = session.exec(select(Student).where(Student.student_no == who)).first()
    if student:
        return "student", student.id, student.school_id, student.name
    teacher = session.exec(select(Teacher).where(Teacher.phone == who)).first()
    if teacher:
        return "teacher", teacher.id, teacher.school_id, teacher.name
    parent = session.exec(select(Parent).where(Parent.phone == who)).first()
    if parent:
        return "parent", parent.id, None, parent.name
    student = session.exec(select(Student).where(Student.phone == who)).first()
    if student:
        return "student", student.id, student.school_id, student.name
    return None


def ensure_console_account(engine: Engine, who: str) -> str | None:
    """Bind the terminal to `who` (the operator at the terminal vouches for them); their name."""
    with Session(engine) as session:
        existing = session.exec(
            select(ChannelAccount).where(
                ChannelAccount.channel == "console", ChannelAccount.external_id == who
            )
        ).first()
        person = find_person(session, who)
        if existing is not None:
            existing.active = True
            session.add(existing)
            session.commit()
            return person[3] if person else who
        if person is None:
            return None
        kind, person_id, school_id, name = person
        session.add(
            ChannelAccount(
                channel="console",
                external_id=who,
                person_kind=kind,
                person_id=person_id,
                school_id=school_id,
                display_name=name,
            )
        )
        session.commit()
        return name


def run_chat(settings: Settings, engine: Engine, who: str) -> None:
    name = ensure_console_account(engine, who)
    if name is None:
        typer.secho(f"找不到学号或手机号为 {who} 的学生、教师或家长", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    channel = ConsoleChannel(Pipeline(engine, settings), who)
    typer.echo(WELCOME.format(who=f"{name}（{who}）", loc=LOCATION_COMMAND))
    while True:
        try:
            line = input("你> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        if not line:
            continue
        if line in QUIT:
            return
        channel.now = utcnow()
        typer.echo("助手> " + channel.line(line).replace("\n", "\n      "))
