"""The `shixi` command line (SPEC section 4)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from core.settings import ConfigError, Settings, load_settings

app = typer.Typer(help="Shixi 实习助手", no_args_is_help=True, add_completion=False)
invite_app = typer.Typer(help="一次性绑定码 (one-time binding codes)", no_args_is_help=True)
user_app = typer.Typer(help="控制台用户 (console users)", no_args_is_help=True)
token_app = typer.Typer(help="API 令牌 (API tokens)", no_args_is_help=True)
wechat_app = typer.Typer(help="微信公众号 (WeChat official account)", no_args_is_help=True)
telegram_app = typer.Typer(help="Telegram bot", no_args_is_help=True)
app.add_typer(invite_app, name="invite")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(wechat_app, name="wechat")
app.add_typer(telegram_app, name="telegram")


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def engine_for(cfg: Settings):
    from models.db import make_engine

    return make_engine(cfg.database.url, echo=cfg.database.echo, pool_size=cfg.database.pool_size)


def fail(message: str, code: int = 1) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from models.migrate import current_revision, upgrade

    cfg = settings()
    engine = engine_for(cfg)
    upgrade(engine)
    typer.echo(f"数据库已是最新结构 (revision {current_revision(engine)})")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
    workers: Annotated[int, typer.Option(help="web worker processes")] = 1,
    no_scheduler: Annotated[bool, typer.Option("--no-scheduler", help="web only")] = False,
) -> None:
    """Serve webhooks, console and API (plus scheduler and outbox sender); migrates first."""
    from api.commands.serve import run_server

    run_server(settings(), host=host, port=port, workers=workers, scheduler=not no_scheduler)


@app.command()
def worker() -> None:
    """Run the scheduler and the outbox sender without the web app."""
    from api.commands.worker import run_worker

    run_worker(settings())


@app.command()
def demo(
    students: Annotated[int, typer.Option(help="how many students")] = 3000,
    days: Annotated[int, typer.Option(help="days of history")] = 30,
    seed: Annotated[int, typer.Option(help="random seed")] = 2019,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="skip if data exists")] = False,
) -> None:
    """Fill an empty database with a realistic demo province."""
    from api.commands.demo import run_demo

    run_demo(settings(), students=students, days=days, seed=seed, if_empty=if_empty)


@app.command(name="import")
def import_roster(
    file: Annotated[Path, typer.Argument(help="roster .csv or .xlsx")],
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
) -> None:
    """Import a roster; rejected rows are listed with line and reason."""
    from api.commands.roster import run_import

    code = run_import(settings(), file, progress=not quiet)
    raise typer.Exit(code)


@invite_app.command("student")
def invite_student(
    student_no: Annotated[str | None, typer.Argument(help="学号")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every unbound student")] = False,
    school: Annotated[str | None, typer.Option(help="only this school (with --all)")] = None,
    out: Annotated[Path | None, typer.Option(help="CSV file (with --all)")] = None,
) -> None:
    """Print a one-time code for a student, or write codes for every unbound student."""
    from api.commands.invite import invite_all_students, invite_person

    cfg = settings()
    if all_:
        if out is None:
            fail("--all 需要 --out codes.csv")
        invite_all_students(cfg, engine_for(cfg), school=school, out=out)
    elif student_no:
        invite_person(cfg, engine_for(cfg), "student", student_no)
    else:
        fail("请给出学号，或使用 --all --out codes.csv")


@invite_app.command("teacher")
def invite_teacher(phone: Annotated[str, typer.Argument(help="教师手机号")]) -> None:
    """Print a one-time code for a teacher."""
    from api.commands.invite import invite_person

    cfg = settings()
    invite_person(cfg, engine_for(cfg), "teacher", phone)


@invite_app.command("parent")
def invite_parent(student_no: Annotated[str, typer.Argument(help="学生学号")]) -> None:
    """Print a one-time code for a student's parent."""
    from api.commands.invite import invite_person

    cfg = settings()
    invite_person(cfg, engine_for(cfg), "parent", student_no)


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="province | school | teacher")],
    school: Annotated[str | None, typer.Option(help="school name (school, teacher)")] = None,
    phone: Annotated[str | None, typer.Option(help="teacher's phone (teacher)")] = None,
) -> None:
    """Add a console user; the password is read from standard input."""
    from core.accounts import AccountError, create_user
    from core.audit import record
    from models.db import session_scope

    cfg = settings()
    if sys.stdin.isatty():
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with session_scope(engine_for(cfg)) as session:
            user = create_user(
                session,
                username=username,
                password=password,
                role=role,
                school_name=school,
                phone=phone,
            )
            record(
                session,
                actor="cli",
                action="user.add",
                target_kind="console_user",
                target_id=user.id,
                school_id=user.school_id,
                role=role,
            )
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"已创建控制台用户 {username}（{role}）")


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "",
) -> None:
    """Print a new API token for a console user as the last word."""
    from core.accounts import AccountError, create_token
    from core.audit import record
    from models.db import session_scope

    cfg = settings()
    try:
        with session_scope(engine_for(cfg)) as session:
            token = create_token(session, username=username, name=name)
            record(
                session,
                actor="cli",
                action="token.create",
                target_kind="console_user",
                target_id=username,
            )
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"API 令牌（只显示这一次，请妥善保存）: {token}")


@app.command()
def tick(at: Annotated[str, typer.Option("--at", help="ISO datetime, e.g. 2026-03-02T09:30")]):
    """Run every scheduler sweep as of a time, then deliver what is due; idempotent."""
    from api.commands.tick import run_tick

    cfg = settings()
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        fail(f"无法识别的时间：{at}（例如 2026-03-02T09:30）", 2)
    if when.tzinfo is None:
        when = when.replace(tzinfo=cfg.tz)
    run_tick(cfg, engine_for(cfg), when)


@app.command()
def chat(who: Annotated[str, typer.Option("--as", help="student_no or phone")]) -> None:
    """Talk to the bot in the terminal through the same handlers."""
    from api.commands.chat import run_chat

    cfg = settings()
    run_chat(cfg, engine_for(cfg), who)


@wechat_app.command("menu")
def wechat_menu() -> None:
    """Publish the official account menu (签到 / 写日志 / 维权 / 我的)."""
    from api.commands.channels import publish_wechat_menu

    publish_wechat_menu(settings())


@telegram_app.command("set-webhook")
def telegram_set_webhook(public_url: str) -> None:
    """Register <public_url>/telegram/webhook with Telegram, with the secret token."""
    from api.commands.channels import set_telegram_webhook

    set_telegram_webhook(settings(), public_url)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
