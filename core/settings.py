"""The one settings object: config.toml (or $SHIXI_CONFIG) plus SHIXI_<SECTION>__<KEY> overrides."""

from __future__ import annotations

import os
import re
from datetime import date, time
from pathlib import Path
from typing import Literal
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
    # Where chat messages are written: "process" (a writer process beside the web server: a
    # core of its own), "thread" (in the web server's process), "auto" (process where there
    # are two cores or more and the database is not an in-memory SQLite).
    writer: Literal["auto", "process", "thread"] = "auto"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


# What a template field may be filled with (SPEC section 9); each value is cut to 20 characters.
TEMPLATE_PLACEHOLDERS = ("student", "date", "time", "summary", "teacher", "phone", "no")
_PLACEHOLDER = re.compile(r"\{(\w*)\}")
_TEMPLATE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WechatTemplate(Section):
    """One template from the account's library: its id and its keys filled from placeholders."""

    id: str = ""
    fields: dict[str, str] = {}

    @field_validator("fields")
    @classmethod
    def _known_placeholders(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not _TEMPLATE_KEY.match(key):
                raise ValueError(f"{key!r} is not a template key (e.g. thing1, time2)")
            unknown = [p for p in _PLACEHOLDER.findall(value) if p not in TEMPLATE_PLACEHOLDERS]
            if unknown:
                names = ", ".join("{" + p + "}" for p in TEMPLATE_PLACEHOLDERS)
                raise ValueError(f"{key}: unknown placeholder {{{unknown[0]}}}; use {names}")
        return v

    @property
    def configured(self) -> bool:
        return bool(self.id and self.fields)


class WechatTemplates(Section):
    """Per kind of push; a kind without a template falls back to `notice`."""

    nudge: WechatTemplate = WechatTemplate()  # check-in and journal reminders to students
    absence: WechatTemplate = WechatTemplate()  # absence digests, parent alerts, 失联
    ticket: WechatTemplate = WechatTemplate()  # tickets opened, updated, escalated
    journal: WechatTemplate = WechatTemplate()  # journals graded, journal digests
    leave: WechatTemplate = WechatTemplate()  # leave and make-up requests and decisions
    notice: WechatTemplate = WechatTemplate()  # everything else

    def for_kind(self, kind: str) -> WechatTemplate | None:
        """The template to use for a kind of push: its own, else notice, else None."""
        own = getattr(self, kind, None)
        if isinstance(own, WechatTemplate) and own.configured:
            return own
        return self.notice if self.notice.configured else None


class WechatSettings(Section):
    token: str = ""
    app_id: str = ""
    app_secret: str = ""
    encoding_aes_key: str = ""
    api_base_url: str = "https://api.weixin.qq.com"
    replay_window_s: int = Field(300, ge=1)
    account_name: str = ""  # the official account's name, printed on invite sheets
    templates: WechatTemplates = WechatTemplates()
    link_days: int = Field(30, ge=1)  # how long a template message's /m/ detail link works

    @property
    def enabled(self) -> bool:
        return bool(self.token)


class TelegramSettings(Section):
    token: str = ""
    webhook_secret: str = ""
    api_base_url: str = "https://api.telegram.org"
    bot_username: str = ""  # without @; invite sheets then carry a t.me deep link

    @property
    def enabled(self) -> bool:
        return bool(self.token)


class SchedulerSettings(Section):
    enabled: bool = True
    nudge_after_min: int = Field(30, ge=0, lt=1440)  # a nudge is about one day
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
    # Check-in evidence (SPEC 11): flag thresholds, and whether a map pin alone counts.
    max_speed_kmh: float = Field(200.0, gt=0)
    event_window_min: int = Field(10, ge=0)
    event_distance_m: float = Field(1000.0, gt=0)
    max_accuracy_m: float = Field(500.0, gt=0)
    require_device: bool = False
    page_ttl_min: int = Field(10, ge=1)


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


class TicketSettings(Section):
    escalate_after_h: int = Field(48, ge=1)  # an untouched (open) ticket then goes to the school


class ConsoleSettings(Section):
    max_failed_logins: int = Field(5, ge=1)
    lockout_min: int = Field(15, ge=1)
    session_hours: int = Field(12, ge=1)
    page_size: int = Field(50, ge=1, le=1000)
    snapshot_max_age_min: int = Field(15, ge=1)
    token_ttl_days: int = Field(90, ge=1)
    max_form_bytes: int = Field(65536, ge=1024)


class PrivacySettings(Section):
    retain_days_after_end: int = Field(365, ge=1)


SURVEY_QUESTIONS = 5  # SPEC 14: five questions on a 1-5 scale, then an optional comment
STUDENT_QUESTIONS = [
    "您对实习单位的工作环境和安全条件满意吗？",
    "您对实习岗位与所学专业的对口程度满意吗？",
    "您对企业导师（师傅）的指导和帮助满意吗？",
    "您对学校指导教师的关心和指导满意吗？",
    "总体来说，您对这次实习满意吗？",
]
PARENT_QUESTIONS = [
    "您对孩子实习单位的安全保障和食宿条件满意吗？",
    "您对孩子实习期间的工作时间和休息安排满意吗？",
    "您对学校向您反馈孩子实习情况的及时程度满意吗？",
    "您对孩子在实习中的成长和收获满意吗？",
    "总体来说，您对孩子这次实习满意吗？",
]
MENTOR_QUESTIONS = [
    "您对该实习生的工作态度和纪律满意吗？",
    "您对该实习生的专业知识和动手能力满意吗？",
    "您对该实习生的沟通与团队协作满意吗？",
    "您对学校指导教师与企业的沟通配合满意吗？",
    "总体来说，您对这次校企合作实习满意吗？",
]


class SurveySettings(Section):
    enabled: bool = True
    first_after_days: int = Field(30, ge=1)  # the "first month" survey: this many days in
    catch_up_days: int = Field(7, ge=0)  # a survey missed (e.g. not yet bound) is still sent
    send_at: time = time(10, 0)  # surveys and reminders go out from this local time of day
    remind_after_h: int = Field(48, ge=1)  # one reminder this long after an unanswered survey
    answer_days: int = Field(7, ge=1)  # a survey can be answered for this many days
    student: list[str] = STUDENT_QUESTIONS
    parent: list[str] = PARENT_QUESTIONS
    mentor: list[str] = MENTOR_QUESTIONS

    @field_validator("student", "parent", "mentor")
    @classmethod
    def _five_questions(cls, v: list[str]) -> list[str]:
        v = [q.strip() for q in v]
        if len(v) != SURVEY_QUESTIONS or not all(v):
            raise ValueError(f"needs exactly {SURVEY_QUESTIONS} non-empty questions")
        return v

    def questions(self, respondent_kind: str) -> list[str]:
        return list(getattr(self, respondent_kind))


class CalendarSettings(Section):
    holidays: list[date] = []
    workdays: list[date] = []


# 《职业学校学生实习管理规定》第十六条（五）: commercial entertainment venues.
BANNED_VENUES = [
    "酒吧", "夜总会", "歌厅", "歌舞厅", "KTV", "洗浴", "浴场", "足浴", "桑拿",
    "电子游戏厅", "游戏厅", "游艺厅", "电玩城", "网吧", "网咖", "娱乐会所",
]  # fmt: skip
# 《未成年工特殊保护规定》第三条: work banned for minors (matched in industry and position).
MINOR_BANNED_WORK = [
    "井下", "矿山", "煤矿", "采矿", "高空", "高处作业", "登高", "放射", "辐射", "高毒", "有毒",
    "剧毒", "农药", "爆破", "易燃易爆", "烟花爆竹", "锅炉", "司炉", "搬运", "装卸", "伐木",
    "潜水", "凿岩", "粉尘", "冶炼", "电焊",
]  # fmt: skip
# 第十九条: fees, deposits, withheld identity papers (matched in ticket text).
FEE_WORDS = [
    "押金", "保证金", "培训费", "管理费", "中介费", "介绍费", "服务费", "实习费", "材料费",
    "报酬提成", "抽成", "扣押身份证", "扣身份证", "身份证被扣", "扣押证件", "扣学生证",
]  # fmt: skip


class ComplianceSettings(Section):
    enabled: bool = True
    check_at: time = time(6, 30)  # the daily check of every active placement
    weekly_summary: str = "mon 08:30"  # open findings to each school admin
    lookback_days: int = Field(28, ge=1, le=366)  # check-ins this far back are evidence
    break_minutes: int = Field(60, ge=0)  # meal break taken off a shift or a day's span
    max_day_hours: float = Field(8, gt=0)
    max_week_hours: float = Field(40, gt=0)
    night_start: time = time(22, 0)
    night_end: time = time(6, 0)
    max_consecutive_days: int = Field(6, ge=1, le=13)  # a 7th worked day in a row: no rest
    min_age: int = Field(16, ge=0)
    adult_age: int = Field(18, ge=0)
    pay_ratio: float = Field(0.8, gt=0, le=1)  # of the same post's wage
    company_ratio: float = Field(0.10, gt=0, le=1)  # interns / company staff
    post_ratio: float = Field(0.20, gt=0, le=1)  # interns / staff on the same post
    banned_venues: list[str] = BANNED_VENUES
    minor_banned_work: list[str] = MINOR_BANNED_WORK
    fee_words: list[str] = FEE_WORDS
    min_wage: dict[str, int] = {}  # city -> monthly minimum wage (yuan)

    @field_validator("weekly_summary")
    @classmethod
    def _weekday_and_time(cls, v: str) -> str:
        return SchedulerSettings._weekday_and_time(v)


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
    tickets: TicketSettings = TicketSettings()
    console: ConsoleSettings = ConsoleSettings()
    calendar: CalendarSettings = CalendarSettings()
    compliance: ComplianceSettings = ComplianceSettings()
    privacy: PrivacySettings = PrivacySettings()
    surveys: SurveySettings = SurveySettings()

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
