"""Channel set-up commands: the WeChat menu and the Telegram webhook."""

import typer


def publish_wechat_menu(settings) -> None:
    typer.echo("shixi wechat menu 尚未实现 (not built yet)")
    raise typer.Exit(1)


def set_telegram_webhook(settings, public_url: str) -> None:
    typer.echo("shixi telegram set-webhook 尚未实现 (not built yet)")
    raise typer.Exit(1)
