"""The walking skeleton: settings, schema on both databases, the health check."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from api.app import create_app
from core.settings import ConfigError, load_settings
from models.migrate import current_revision, head_revision
from tests.factories import make_student


def test_schema_is_migrated_to_head(engine):
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"students", "placements", "checkins", "outbox", "audit_log"} <= tables


def test_models_and_migrations_agree(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models changed without a migration: {diff}"


def test_times_come_back_timezone_aware(session):
    student = make_student(session)
    session.commit()
    session.expire_all()
    assert session.get(type(student), student.id).created_at.tzinfo is not None


def test_healthz_answers_with_the_database(settings, engine):
    with TestClient(create_app(settings, engine=engine)) as client:
        resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json()["database"] == "ok"


def test_a_wrong_config_key_fails_naming_it(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text("[server]\nprot = 8000\n", encoding="utf-8")
    monkeypatch.setenv("SHIXI_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match=r"server\.prot: unknown key"):
        load_settings()


def test_a_wrong_config_value_fails_naming_it(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[server]\nport = "eighty"\n', encoding="utf-8")
    monkeypatch.setenv("SHIXI_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match=r"server\.port"):
        load_settings()


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[database]\nurl = "sqlite:///a.db"\n', encoding="utf-8")
    monkeypatch.setenv("SHIXI_CONFIG", str(cfg))
    monkeypatch.setenv("SHIXI_DATABASE__URL", "sqlite:///b.db")
    monkeypatch.setenv("SHIXI_SERVER__PORT", "9000")
    loaded = load_settings()
    assert loaded.database.url == "sqlite:///b.db"
    assert loaded.server.port == 9000


def test_the_shipped_config_loads_and_documents_every_key():
    import tomllib
    from pathlib import Path

    from core.settings import Settings

    root = Path(__file__).resolve().parents[1]
    text = (root / "config.toml").read_text(encoding="utf-8")
    shipped = tomllib.loads(text)
    defaults = Settings().model_dump()

    def keys(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                yield from keys(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}"

    assert set(keys(shipped)) == set(keys(defaults))
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            assert "#" in line or line.split("=")[0].strip() in (
                "url",
                "token",
                "app_id",
                "app_secret",
                "encoding_aes_key",
                "api_base_url",
                "host",
                "port",
                "timezone",
                "pool_size",
            ), f"undocumented key: {line}"
