"""`shixi worker`: scheduler and outbox sender without the web app."""

import typer


def run_worker(settings) -> None:
    typer.echo("shixi worker 尚未实现 (not built yet)")
    raise typer.Exit(1)
