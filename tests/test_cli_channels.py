"""`shixi wechat menu` and `shixi telegram commands` end to end: config file, CLI, fake servers."""

from __future__ import annotations

import json

import respx
from typer.testing import CliRunner

from api.cli import app
from bot.menus import ROLE_TAGS, menu_problems
from tests.bot.fake_wechat_menus import FakeWechatMenus

TG = "https://api.telegram.org/bot123456:TEST-TOKEN"
CONFIG = """
[database]
url = "{db_url}"
[wechat]
token = "wxtoken"
app_id = "wx0123456789abcdef"
app_secret = "wxsecret"
[telegram]
token = "123456:TEST-TOKEN"
webhook_secret = "tg-secret"
"""


def _configure(tmp_path, monkeypatch, text: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("SHIXI_CONFIG", str(config))


def test_wechat_menu_publishes_a_valid_menu_per_role(db_url, tmp_path, monkeypatch):
    _configure(tmp_path, monkeypatch, CONFIG.format(db_url=db_url))
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        wx = FakeWechatMenus().install(mock)
        result = CliRunner().invoke(app, ["wechat", "menu"])
    assert result.exit_code == 0, result.output
    assert "菜单已发布" in result.output
    assert wx.refused == []
    assert wx.default is not None and menu_problems(wx.default) == []
    assert sorted(wx.tags.values()) == sorted(ROLE_TAGS.values())
    assert len(wx.conditional) == len(ROLE_TAGS)
    for menu in wx.conditional:
        assert menu_problems(menu, conditional=True) == []


def test_wechat_menu_without_the_account_says_what_to_fill_in(db_url, tmp_path, monkeypatch):
    _configure(tmp_path, monkeypatch, f'[database]\nurl = "{db_url}"\n')
    result = CliRunner().invoke(app, ["wechat", "menu"])
    assert result.exit_code == 1
    assert "app_id" in result.output


def test_telegram_commands_sets_the_default_list(db_url, tmp_path, monkeypatch):
    _configure(tmp_path, monkeypatch, CONFIG.format(db_url=db_url))
    with respx.mock(assert_all_mocked=True) as mock:
        calls = mock.post(f"{TG}/setMyCommands").respond(json={"ok": True, "result": True})
        result = CliRunner().invoke(app, ["telegram", "commands"])
    assert result.exit_code == 0, result.output
    assert "Telegram 命令已按身份设置" in result.output
    first = json.loads(calls.calls[0].request.content)
    assert first["scope"] == {"type": "default"}
