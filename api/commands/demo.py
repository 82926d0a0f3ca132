"""`shixi demo`: a deterministic demo province."""

import typer


def run_demo(settings, *, students: int, days: int, seed: int, if_empty: bool) -> None:
    typer.echo("shixi demo 尚未实现 (not built yet)")
    raise typer.Exit(1)
