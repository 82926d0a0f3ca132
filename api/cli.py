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
compliance_app = typer.Typer(
    help="合规检查 (compliance with the internship rules)", no_args_is_help=True
)
privacy_app = typer.Typer(help="个人信息 (personal data: export, erase)", no_args_is_help=True)
report_app = typer.Typer(help="报告 (reports)", no_args_is_help=True)
app.add_typer(invite_app, name="invite")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(wechat_app, name="wechat")
app.add_typer(telegram_app, name="telegram")
app.add_typer(compliance_app, name="compliance")
app.add_typer(privacy_app, name="privacy")
app.add_typer(report_app, name="report")


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
def invite_parent(
    student_no: Annotated[str, typer.Argument(help="学生学号")],
    phone: Annotated[str | None, typer.Option(help="only the parent with this phone")] = None,
) -> None:
    """Print a one-time code for each of a student's parents (or the one with --phone)."""
    from api.commands.invite import invite_person

    cfg = settings()
    invite_person(cfg, engine_for(cfg), "parent", student_no, parent_phone=phone)


@invite_app.command("mentor")
def invite_mentor(phone: Annotated[str, typer.Argument(help="企业导师手机号")]) -> None:
    """Print a one-time code for a company mentor (roster mentor_phone)."""
    from api.commands.invite import invite_person

    cfg = settings()
    invite_person(cfg, engine_for(cfg), "mentor", phone)


@invite_app.command("school-admin")
def invite_school_admin(username: Annotated[str, typer.Argument(help="学校管理员用户名")]) -> None:
    """Print a one-time code binding a school admin's console account to a chat."""
    from api.commands.invite import invite_person

    cfg = settings()
    invite_person(cfg, engine_for(cfg), "school_admin", username)


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="province | school | teacher")],
    school: Annotated[str | None, typer.Option(help="school name (school, teacher)")] = None,
    phone: Annotated[str | None, typer.Option(help="teacher's phone (teacher)")] = None,
) -> None:
    """Add a console user; the password is read from standard input."""
    from core.accounts import AccountError, create_user
    from models.audit import record
    from models.db import session_scope

    cfg = settings()
    password = _stdin_password(confirm=True)
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


def _stdin_password(*, confirm: bool, allow_empty: bool = False) -> str:
    if sys.stdin.isatty():
        return typer.prompt(
            "密码" + ("（直接回车则自动生成）" if allow_empty else ""),
            hide_input=True,
            confirmation_prompt=confirm,
            default="" if allow_empty else None,
            show_default=False,
        )
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("list")
def user_list() -> None:
    """List console users with role, state and last sign-in."""
    from api.commands.accounts import user_lines

    cfg = settings()
    for line in user_lines(cfg, engine_for(cfg)):
        typer.echo(line)


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable a console user: sessions and API tokens stop working at once."""
    from api.commands.accounts import set_user_active
    from core.accounts import AccountError

    cfg = settings()
    try:
        typer.echo(set_user_active(engine_for(cfg), username, active=False))
    except AccountError as exc:
        fail(str(exc))


@user_app.command("enable")
def user_enable(username: str) -> None:
    """Enable a disabled console user again."""
    from api.commands.accounts import set_user_active
    from core.accounts import AccountError

    cfg = settings()
    try:
        typer.echo(set_user_active(engine_for(cfg), username, active=True))
    except AccountError as exc:
        fail(str(exc))


@user_app.command("reset-password")
def user_reset_password(username: str) -> None:
    """Set a new password (from standard input; empty: one is generated and printed)."""
    from api.commands.accounts import reset_user_password
    from core.accounts import AccountError

    cfg = settings()
    password = _stdin_password(confirm=True, allow_empty=True)
    try:
        typer.echo(reset_user_password(engine_for(cfg), username, password))
    except AccountError as exc:
        fail(str(exc))


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "",
    days: Annotated[
        int | None, typer.Option(help="valid for this many days ([console] token_ttl_days)")
    ] = None,
) -> None:
    """Print a new API token for a console user as the last word."""
    from api.commands.accounts import new_token
    from core.accounts import AccountError

    cfg = settings()
    try:
        token = new_token(cfg, engine_for(cfg), username, name=name, days=days)
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"API 令牌（只显示这一次，请妥善保存）: {token}")


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option("--user", help="only this user's tokens")] = None,
) -> None:
    """List API tokens: owner, purpose, expiry, last use, state (never the token itself)."""
    from api.commands.accounts import token_lines
    from core.accounts import AccountError

    cfg = settings()
    try:
        lines = token_lines(cfg, engine_for(cfg), username=user)
    except AccountError as exc:
        fail(str(exc))
    for line in lines:
        typer.echo(line)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="编号 from shixi token list")]):
    """Revoke an API token at once."""
    from api.commands.accounts import revoke
    from core.accounts import AccountError

    cfg = settings()
    try:
        typer.echo(revoke(engine_for(cfg), token_id))
    except AccountError as exc:
        fail(str(exc))


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


@compliance_app.command("check")
def compliance_check(
    at: Annotated[str | None, typer.Option("--at", help="ISO datetime; default now")] = None,
) -> None:
    """Check every active placement against the rules now (idempotent)."""
    from api.commands.compliance import run_check

    cfg = settings()
    when = datetime.now(cfg.tz)
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            fail(f"无法识别的时间：{at}（例如 2026-03-02T06:30）", 2)
        if when.tzinfo is None:
            when = when.replace(tzinfo=cfg.tz)
    run_check(cfg, engine_for(cfg), when)


@app.command()
def chat(who: Annotated[str, typer.Option("--as", help="student_no or phone")]) -> None:
    """Talk to the bot in the terminal through the same handlers."""
    from api.commands.chat import run_chat

    cfg = settings()
    run_chat(cfg, engine_for(cfg), who)


@wechat_app.command("menu")
def wechat_menu() -> None:
    """Publish the menus: the default (students') and one per role tag; tag bound users."""
    from api.commands.channels import publish_wechat_menu

    publish_wechat_menu(settings())


wechat_templates_app = typer.Typer(help="模板消息 (template messages)", no_args_is_help=True)
wechat_app.add_typer(wechat_templates_app, name="templates")


@wechat_templates_app.command("check")
def wechat_templates_check() -> None:
    """Compare [wechat.templates.*] with the account's templates (ids and field keys)."""
    from api.commands.wechat_templates import check_wechat_templates

    check_wechat_templates(settings())


@telegram_app.command("commands")
def telegram_commands() -> None:
    """Set the bot's command list per role (setMyCommands per bound chat)."""
    from api.commands.channels import publish_telegram_menus

    publish_telegram_menus(settings())


@telegram_app.command("set-webhook")
def telegram_set_webhook(public_url: str) -> None:
    """Register <public_url>/telegram/webhook with Telegram, with the secret token."""
    from api.commands.channels import set_telegram_webhook

    set_telegram_webhook(settings(), public_url)


@privacy_app.command("export")
def privacy_export(
    student_no: Annotated[str, typer.Argument(help="学号")],
    out: Annotated[Path, typer.Option("--out", help="FILE.zip")],
) -> None:
    """Write every record naming a student to a ZIP (JSON, and CSV per table)."""
    from api.commands.privacy import export_student
    from core.privacy import PrivacyError

    cfg = settings()
    try:
        typer.echo(export_student(engine_for(cfg), student_no, out))
    except PrivacyError as exc:
        fail(str(exc))


@privacy_app.command("erase")
def privacy_erase(
    student_no: Annotated[str, typer.Argument(help="学号")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Delete every record naming a student; only an audit line remains."""
    from api.commands.privacy import erase_student
    from core.privacy import PrivacyError

    cfg = settings()
    if not yes and sys.stdin.isatty():
        typer.confirm(f"永久删除学号 {student_no} 的全部个人信息，无法恢复。确定吗？", abort=True)
    try:
        typer.echo(erase_student(engine_for(cfg), student_no))
    except PrivacyError as exc:
        fail(str(exc))


@report_app.command("quality")
def report_quality(
    first: Annotated[str, typer.Option("--from", help="first day, e.g. 2026-09-01")],
    last: Annotated[str, typer.Option("--to", help="last day, e.g. 2027-01-31")],
    out: Annotated[Path, typer.Option("--out", help="FILE.pdf or FILE.xlsx")],
    school: Annotated[str | None, typer.Option(help="one school, by name")] = None,
    province: Annotated[bool, typer.Option("--province", help="every school")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress lines")] = False,
) -> None:
    """The internship quality report (实习质量报告) as PDF or XLSX."""
    from api.commands.report import parse_day, run_quality_report

    run_quality_report(
        settings(),
        school=school,
        province=province,
        first=parse_day(first),
        last=parse_day(last),
        out=out,
        quiet=quiet,
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
