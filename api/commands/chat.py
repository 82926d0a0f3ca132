"""`shixi chat --as`: the terminal channel."""

import typer


def run_chat(settings, engine, who) -> None:
    typer.echo("shixi chat 尚未实现 (not built yet)")
    raise typer.Exit(1)
