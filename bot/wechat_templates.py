"""Template messages: which template a push uses, its fields filled, and the account's check.

Since 2023 WeChat shows only a template's keyword fields, each at most 20 characters (SPEC
section 9), so a push outside the 48-hour window is its structured params (student, date,
summary, ...) poured into the keys the configured template names, plus a link to its full text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from core.settings import TEMPLATE_PLACEHOLDERS, WechatTemplate, WechatTemplates

FIELD_MAX = 20  # WeChat refuses (or cuts) a keyword value longer than this
EMPTY = "-"  # WeChat refuses an empty keyword value
_PLACEHOLDER = re.compile(r"\{(\w*)\}")
_KEY = re.compile(r"\{\{\s*(\w+)\.DATA\s*\}\}")

# Outbox kinds by template kind; a kind not listed is a `notice`.
_BY_PREFIX = (
    (("nudge", "journal_reminder"), "nudge"),
    (("parent_alert", "lost_contact", "teacher_digest", "alert"), "absence"),
    (("ticket",), "ticket"),
    (("journal", "grading"), "journal"),
    (("leave", "makeup"), "leave"),
)


def template_kind(outbox_kind: str) -> str:
    """The template kind (nudge, absence, ticket, journal, leave, notice) of an outbox kind."""
    for prefixes, kind in _BY_PREFIX:
        if outbox_kind.startswith(prefixes):
            return kind
    return "notice"


def field_values(params: dict, text: str, local_now: datetime) -> dict[str, str]:
    """Every placeholder's value: the push's params, else what the text and the time give."""
    values = {
        "summary": first_line(text),
        "date": local_now.date().isoformat(),
        "time": local_now.strftime("%H:%M"),
    }
    for name in TEMPLATE_PLACEHOLDERS:
        value = params.get(name)
        if value not in (None, ""):
            values[name] = str(value)
    return values


def first_line(text: str) -> str:
    """The first non-empty line, without a leading 【heading】 when more follows it."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if line.startswith("【") and "】" in line and not line.endswith("】"):
        line = line.split("】", 1)[1].strip()
    return line


def cut(value: str) -> str:
    """A keyword value WeChat accepts: one line, at most FIELD_MAX characters, never empty."""
    value = " ".join(value.split())
    if len(value) > FIELD_MAX:
        value = value[: FIELD_MAX - 1] + "…"
    return value or EMPTY


def fill(template: WechatTemplate, values: dict[str, str]) -> dict:
    """The `data` of a template/send request: each configured key, filled and cut."""
    return {
        key: {"value": cut(_PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), spec))}
        for key, spec in template.fields.items()
    }


def template_keys(content: str) -> list[str]:
    """The keys of a template's content, e.g. "{{thing1.DATA}}" -> thing1, in order."""
    return _KEY.findall(content or "")


@dataclass(frozen=True)
class Finding:
    kind: str
    ok: bool
    message: str


def check_templates(templates: WechatTemplates, template_list: list[dict]) -> list[Finding]:
    """For each configured kind: does its id exist, and are its keys the template's keys?"""
    by_id = {t.get("template_id"): t for t in template_list}
    findings = []
    for kind in WechatTemplates.model_fields:
        cfg: WechatTemplate = getattr(templates, kind)
        if not cfg.id and not cfg.fields:
            continue
        if not cfg.id:
            findings.append(Finding(kind, False, "没有填写 id"))
            continue
        found = by_id.get(cfg.id)
        if found is None:
            findings.append(Finding(kind, False, f"模板 {cfg.id} 不在公众号的模板列表中"))
            continue
        keys = template_keys(found.get("content", ""))
        missing = [k for k in keys if k not in cfg.fields]
        unknown = [k for k in cfg.fields if k not in keys]
        title = found.get("title", "")
        if missing or unknown:
            parts = []
            if missing:
                parts.append("未配置的字段 " + "、".join(missing))
            if unknown:
                parts.append("模板中没有的字段 " + "、".join(unknown))
            findings.append(Finding(kind, False, f"{title}（{cfg.id}）：" + "；".join(parts)))
        else:
            findings.append(
                Finding(kind, True, f"{title}（{cfg.id}）：字段 {'、'.join(keys)} 一致")
            )
    return findings
