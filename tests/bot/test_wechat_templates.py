"""Template settings, filling and `shixi wechat templates check` against a recorded answer."""

from __future__ import annotations

from datetime import datetime

import pytest
import respx
from fake_wechat import FakeWechat, recorded_templates
from pydantic import ValidationError
from typer.testing import CliRunner

from api.cli import app
from bot.wechat_templates import (
    check_templates,
    cut,
    field_values,
    fill,
    template_keys,
    template_kind,
)
from core.settings import Settings, WechatTemplate, WechatTemplates

ABSENCE_ID = "iPk5sOIt5X_flOVKn5GrTFpncEYTojx6ddbt8WYoV5s"
TICKET_ID = "ZcM1wE3Wn1fXbTHs8u1DCbZgGSKdKT_0o1Mmw5vl9d8"

CONFIG = """
[database]
url = "{db_url}"
[wechat]
token = "wxtoken"
app_id = "wx0123456789abcdef"
app_secret = "wxsecret"
[wechat.templates.absence]
id = "{absence}"
fields = {{ thing1 = "{{student}}", time2 = "{{date}}", thing3 = "{{summary}}" }}
[wechat.templates.nudge]
id = "NO_SUCH_TEMPLATE"
fields = {{ time1 = "{{date}}", thing2 = "{{summary}}" }}
[wechat.templates.ticket]
id = "{ticket}"
fields = {{ thing1 = "{{no}}", phrase2 = "{{summary}}", time3 = "{{date}}" }}
"""


def test_every_push_kind_has_a_template_kind():
    assert template_kind("nudge") == template_kind("journal_reminder") == "nudge"
    kinds = ("parent_alert", "lost_contact", "teacher_digest", "alert_status")
    assert {template_kind(k) for k in kinds} == {"absence"}
    kinds = ("ticket_new", "ticket_status", "ticket_update", "ticket_escalated")
    assert {template_kind(k) for k in kinds} == {"ticket"}
    kinds = ("journal_graded", "journal_digest", "grading_digest")
    assert {template_kind(k) for k in kinds} == {"journal"}
    kinds = ("leave_request", "leave_result", "makeup_request", "makeup_result")
    assert {template_kind(k) for k in kinds} == {"leave"}
    assert template_kind("survey") == template_kind("compliance") == "notice"


def test_fields_are_filled_from_params_and_cut_to_20_characters():
    template = WechatTemplate(
        id="T", fields={"thing1": "{student}（{no}）", "thing2": "{summary}", "phone3": "{phone}"}
    )
    now = datetime(2026, 3, 2, 9, 31)
    values = field_values({"student": "张三", "no": "T12"}, "【标题】第一行\n第二行", now)
    data = fill(template, values)
    assert data == {
        "thing1": {"value": "张三（T12）"},
        "thing2": {"value": "第一行"},  # no summary given: the text's first line
        "phone3": {"value": "-"},  # WeChat refuses empty values
    }
    assert len(cut("一" * 25)) == 20 and cut("a\nb") == "a b"


def test_a_placeholder_that_does_not_exist_is_refused_at_start():
    with pytest.raises(ValidationError, match="unknown placeholder"):
        WechatTemplates(absence={"id": "T", "fields": {"thing1": "{name}"}})
    with pytest.raises(ValidationError):
        Settings(wechat={"templates": {"alert": "OLD_FLAT_ID"}})  # the old flat keys are gone


def test_a_kind_without_a_template_falls_back_to_notice():
    templates = WechatTemplates(notice={"id": "N", "fields": {"thing1": "{summary}"}})
    assert templates.for_kind("leave").id == "N"
    assert WechatTemplates().for_kind("leave") is None


def test_check_reports_a_missing_id_and_a_key_mismatch():
    templates = WechatTemplates(
        absence={"id": ABSENCE_ID, "fields": {"thing1": "{student}", "time2": "{date}",
                                              "thing3": "{summary}"}},
        nudge={"id": "NO_SUCH_TEMPLATE", "fields": {"time1": "{date}"}},
        ticket={"id": TICKET_ID, "fields": {"thing1": "{no}", "phrase2": "{summary}",
                                            "time3": "{date}"}},
    )  # fmt: skip
    listed = recorded_templates()
    assert template_keys(listed[0]["content"]) == ["thing1", "time2", "thing3"]
    found = {f.kind: f for f in check_templates(templates, listed)}
    assert set(found) == {"absence", "nudge", "ticket"}
    assert found["absence"].ok
    assert not found["nudge"].ok and "NO_SUCH_TEMPLATE" in found["nudge"].message
    assert not found["ticket"].ok
    assert "character_string1" in found["ticket"].message  # in the template, not configured
    assert "thing1" in found["ticket"].message  # configured, not in the template


def test_the_command_reads_the_account_and_fails_when_anything_is_wrong(
    db_url, tmp_path, monkeypatch
):
    config = tmp_path / "config.toml"
    config.write_text(
        CONFIG.format(db_url=db_url, absence=ABSENCE_ID, ticket=TICKET_ID), encoding="utf-8"
    )
    monkeypatch.setenv("SHIXI_CONFIG", str(config))
    fake = FakeWechat(now=datetime(2026, 3, 2))
    with respx.mock(assert_all_mocked=True) as wx:
        wx.route(host="api.weixin.qq.com").mock(side_effect=fake.handle)
        result = CliRunner().invoke(app, ["wechat", "templates", "check"])
    assert result.exit_code == 1, result.output
    out = result.output
    assert "✓ absence" in out
    assert "✗ nudge" in out and "NO_SUCH_TEMPLATE 不在公众号的模板列表中" in out
    assert "✗ ticket" in out and "character_string1" in out
    assert "没有配置 notice 模板" in out


def test_the_command_passes_when_everything_matches(db_url, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    only_absence = CONFIG.split("[wechat.templates.nudge]")[0]
    config.write_text(only_absence.format(db_url=db_url, absence=ABSENCE_ID), encoding="utf-8")
    monkeypatch.setenv("SHIXI_CONFIG", str(config))
    fake = FakeWechat(now=datetime(2026, 3, 2))
    with respx.mock(assert_all_mocked=True) as wx:
        wx.route(host="api.weixin.qq.com").mock(side_effect=fake.handle)
        result = CliRunner().invoke(app, ["wechat", "templates", "check"])
    assert result.exit_code == 0, result.output
    assert "全部 1 个模板与公众号一致" in result.output
