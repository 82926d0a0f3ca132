"""`shixi import`: roster import."""

import typer


def run_import(settings, path, *, progress: bool) -> int:
    typer.echo("shixi import 尚未实现 (not built yet)")
    return 1
