"""The one settings object: config.toml (or $SHIXI_CONFIG) plus SHIXI_<SECTION>__<KEY> overrides."""

from __future__ import annotations

import os
from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG = "config.toml"


class Section(BaseModel):
    # A misspelt key is an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatabaseSettings(Section):
    url: str = "sqlite:///shixi.db"
    echo: bool = False
    pool_size: int = Field(10, ge=1)

    @field_validator("url")
    @classmethod
    def _known_driver(cls, v: str) -> str:
        if not (v.startswith("sqlite") or v.startswith("postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return v


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    timezone: str = "Asia/Shanghai"
    public_url: str = ""
    secret_key: str = ""
    cookie_secure: bool = True
    max_body_bytes: int = Field(65536, ge=1024)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


class WechatTemplates(Section):
    nudge: str = ""
    alert: str = ""
    notice: str = ""


class WechatSettings(Section):
    token: str = ""
    app_id: str = ""
    app_secret: str = ""
    encoding_aes_key: str = ""
    api_base_url: str = "https://api.weixin.qq.com"
    replay_window_s: int = Field(300, ge=1)
    templates: WechatTemplates = WechatTemplates()

    @property
    def enabled(self) -> bool:
        return bool(self.token)


class TelegramSettings(Section):
    token: str = ""
    webhook_secret: str = ""
    api_base_url: str = "https://api.telegram.org"

    @property
    def enabled(self) -> bool:
        return bool(self.token)


class SchedulerSettings(Section):
    enabled: bool = True
    nudge_after_min: int = Field(30, ge=0)
    digest_after_min: int = Field(120, ge=0)
    parent_after_days: int = Field(2, ge=1)
    school_after_days: int = Field(3, ge=1)
    quiet_start: time = time(22, 0)
    quiet_end: time = time(7, 0)
    journal_reminder: str = "fri 18:00"
    journal_digest: str = "mon 09:00"
    grading_digest: time = time(18, 0)
    misfire_grace_s: int = Field(3600, ge=1)

    @field_validator("journal_reminder", "journal_digest")
    @classmethod
    def _weekday_and_time(cls, v: str) -> str:
        parts = v.strip().lower().split()
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        try:
            ok = len(parts) == 2 and parts[0][:3] in days and time.fromisoformat(parts[1])
        except ValueError:
            ok = False
        if not ok:
            raise ValueError('must be a weekday and a time, e.g. "fri 18:00"')
        return v


class CheckinSettings(Section):
    default_radius_m: int = Field(500, ge=10)
    repeat_window_min: int = Field(10, ge=0)
    late_after_min: int = Field(0, ge=0)
    makeup_max_days: int = Field(7, ge=1)


class JournalSettings(Section):
    min_daily: int = Field(50, ge=0)
    min_weekly: int = Field(200, ge=0)
    min_monthly: int = Field(500, ge=0)
    min_summary: int = Field(1000, ge=0)
    draft_timeout_h: int = Field(24, ge=1)


class InviteSettings(Section):
    ttl_days: int = Field(30, ge=1)
    max_failures: int = Field(5, ge=1)
    lockout_min: int = Field(60, ge=1)


class OutboxSettings(Section):
    max_attempts: int = Field(8, ge=1)
    backoff_base_s: float = Field(5.0, gt=0)
    backoff_max_s: float = Field(3600.0, gt=0)
    rate_per_s: float = Field(20.0, ge=0)  # per channel; 0 turns the limit off
    batch_size: int = Field(200, ge=1)


class ConsoleSettings(Section):
    max_failed_logins: int = Field(5, ge=1)
    lockout_min: int = Field(15, ge=1)
    session_hours: int = Field(12, ge=1)
    page_size: int = Field(50, ge=1, le=1000)
    snapshot_max_age_min: int = Field(15, ge=1)


class CalendarSettings(Section):
    holidays: list[date] = []
    workdays: list[date] = []


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHIXI_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=DEFAULT_CONFIG,
    )

    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    wechat: WechatSettings = WechatSettings()
    telegram: TelegramSettings = TelegramSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    checkin: CheckinSettings = CheckinSettings()
    journal: JournalSettings = JournalSettings()
    invite: InviteSettings = InviteSettings()
    outbox: OutboxSettings = OutboxSettings()
    console: ConsoleSettings = ConsoleSettings()
    calendar: CalendarSettings = CalendarSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = os.environ.get("SHIXI_CONFIG", DEFAULT_CONFIG)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_path))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.server.timezone)


class ConfigError(Exception):
    """A config file or override that cannot be used; the message names the key."""


def load_settings(**overrides) -> Settings:
    """Load settings, turning validation errors into one readable message."""
    path = os.environ.get("SHIXI_CONFIG", DEFAULT_CONFIG)
    if "SHIXI_CONFIG" in os.environ and not Path(path).is_file():
        raise ConfigError(f"SHIXI_CONFIG points to {path}, which does not exist")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"  {key}: {msg}")
        raise ConfigError(f"invalid configuration ({path}):\n" + "\n".join(lines)) from None
    except ValueError as exc:  # e.g. malformed TOML
        raise ConfigError(f"invalid configuration ({path}): {exc}") from None
