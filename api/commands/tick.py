"""`shixi tick --at`: every sweep as of a time, then deliver what is due."""

import typer


def run_tick(settings, engine, when) -> None:
    typer.echo("shixi tick 尚未实现 (not built yet)")
    raise typer.Exit(1)
