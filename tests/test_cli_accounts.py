"""shixi token list|revoke, token expiry and last use, shixi user disable|enable|reset-password."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from core.accounts import verify_password
from models import ApiToken, AuditLog, ConsoleUser
from models.db import make_engine
from models.types import utcnow
from tests.api.console_world import build_world, login, make_client


@pytest.fixture
def shixi(db_url, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    monkeypatch.setenv("SHIXI_CONFIG", str(config))
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        result = runner.invoke(app, list(args), input=input)
        return result

    return run


def _api(client, token: str, path: str = "/api/v1/students") -> int:
    return client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code


def test_token_list_shows_tokens_without_them_and_revoke_stops_one_at_once(
    shixi, settings, engine, session, now
):
    build_world(session, now)
    made = shixi("token", "create", "school_a", "--name", "教务系统", "--days", "30")
    assert made.exit_code == 0, made.output
    token = made.output.split()[-1]
    client = make_client(settings, engine, utcnow())
    assert _api(client, token) == 200
    listing = shixi("token", "list", "--user", "school_a")
    assert listing.exit_code == 0 and "教务系统" in listing.output and token not in listing.output
    row = session.exec(select(ApiToken).where(ApiToken.name == "教务系统")).one()
    assert row.last_used_at is not None  # noted when used
    assert (row.expires_at - row.created_at) == timedelta(days=30)
    assert "有效" in listing.output
    revoked = shixi("token", "revoke", str(row.id))
    assert revoked.exit_code == 0 and "已撤销" in revoked.output
    assert _api(client, token) == 401
    assert "已撤销" in shixi("token", "list").output
    assert shixi("token", "revoke", "99999").exit_code == 1


def test_a_token_stops_working_when_it_expires(shixi, settings, engine, session, now):
    build_world(session, now)
    token = shixi("token", "create", "province", "--days", "1").output.split()[-1]
    assert _api(make_client(settings, engine, utcnow()), token) == 200
    later = utcnow() + timedelta(days=1, minutes=1)
    assert _api(make_client(settings, engine, later), token) == 401


def test_tokens_default_to_the_configured_lifetime(settings, session, now):
    from core.accounts import create_token

    build_world(session, now)
    create_token(session, username="province", name="x", now=now, ttl_days=90)
    session.commit()
    row = session.exec(select(ApiToken).where(ApiToken.name == "x")).one()
    assert row.expires_at == now + timedelta(days=90)
    assert settings.console.token_ttl_days == 90


def test_disabling_a_user_ends_sessions_and_tokens_and_enabling_restores(
    shixi, settings, engine, session, now
):
    world = build_world(session, now)
    client = make_client(settings, engine, now)
    assert login(client, "school_a").status_code == 303
    assert client.get("/admin/").status_code == 200
    result = shixi("user", "disable", "school_a")
    assert result.exit_code == 0 and "已停用" in result.output
    assert client.get("/admin/").status_code == 303  # the open session is over
    assert login(client, "school_a").status_code == 401
    assert _api(client, world.tokens["school_a"]) == 401
    assert shixi("user", "enable", "school_a").exit_code == 0
    assert login(client, "school_a").status_code == 303
    assert shixi("user", "disable", "nobody").exit_code == 1


def test_reset_password_takes_stdin_or_generates_one_and_ends_sessions(
    shixi, settings, engine, session, now, db_url
):
    build_world(session, now)
    client = make_client(settings, engine, now)
    login(client, "teacher_a")
    result = shixi("user", "reset-password", "teacher_a", input="brand-new-pass-9\n")
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").status_code == 303
    assert login(client, "teacher_a", "brand-new-pass-9").status_code == 303
    generated = shixi("user", "reset-password", "teacher_a", input="\n")
    assert generated.exit_code == 0 and "只显示这一次" in generated.output
    password = generated.output.split()[-1]
    fresh = make_engine(db_url)
    with Session(fresh) as check:
        user = check.exec(select(ConsoleUser).where(ConsoleUser.username == "teacher_a")).one()
        assert verify_password(user.password_hash, password)
        actions = check.exec(select(AuditLog.action).where(AuditLog.actor == "cli")).all()
    fresh.dispose()
    assert actions.count("user.reset_password") == 2
    assert shixi("user", "reset-password", "teacher_a", input="short\n").exit_code == 1
