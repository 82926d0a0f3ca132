"""`shixi import`: read and validate a roster, write the good rows, list the rejected ones."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from tqdm import tqdm

from core.roster import Roster, RosterFileError, parse_roster, read_cells
from core.settings import Settings
from models.audit import record
from models.db import make_engine, session_scope
from models.roster_upsert import KIND_LABELS, Tally, upsert_roster
from models.types import utcnow

EXIT_OK, EXIT_SOME_REJECTED, EXIT_UNREADABLE = 0, 1, 2
PROGRESS_MIN_ROWS = 2000  # a bar on a ten-line file is noise


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """An import keeps hundreds of thousands of objects alive and makes no reference cycles:
    the collector's full passes over them found nothing and cost a tenth of a large import."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def import_file(
    settings: Settings, engine, path: Path, *, progress: bool = False
) -> tuple[Roster, dict[str, Tally]]:
    """Parse and import one file; raises RosterFileError when it cannot be read at all."""
    cells = read_cells(path)
    if progress:
        cells = tqdm(cells, desc="读取名册", unit="行", file=sys.stderr, mininterval=0.5)
    with _cyclic_gc_paused():
        roster = parse_roster(cells, default_radius_m=settings.checkin.default_radius_m)
        with session_scope(engine) as session:
            tally = upsert_roster(session, roster.rows, columns=roster.columns, now=utcnow())
            record(
                session,
                actor="cli",
                action="roster.import",
                target_kind="file",
                target_id=path.name[:64],
                rows=len(roster.rows),
                rejected=len(roster.errors),
                **{kind: vars(t) for kind, t in tally.items()},
            )
    return roster, tally


def summary_lines(roster: Roster, tally: dict[str, Tally]) -> list[str]:
    """The human summary: counts per kind, then every rejected line with its reason."""
    lines = [f"导入 {len(roster.rows)} 行，拒绝 {len(roster.errors)} 行。"]
    for kind, t in tally.items():
        if t.created or t.updated or t.unchanged:
            lines.append(
                f"  {KIND_LABELS[kind]}: 新建 {t.created}，更新 {t.updated}，未变 {t.unchanged}"
            )
    if roster.ignored_headers:
        lines.append("未识别的列（已忽略）: " + "、".join(roster.ignored_headers))
    if roster.errors:
        lines.append("以下行未导入（其余行已导入，改正后可重新导入同一文件）:")
        lines.extend(f"第 {line} 行: {reason}" for line, reason in roster.errors)
    return lines


def run_import(settings: Settings, path: Path, *, progress: bool) -> int:
    engine = make_engine(settings.database.url, echo=settings.database.echo)
    started = time.monotonic()
    try:
        roster, tally = import_file(
            settings, engine, path, progress=progress and sys.stderr.isatty()
        )
    except RosterFileError as exc:
        typer.secho(f"无法导入 {path}: {exc}", fg=typer.colors.RED, err=True)
        return EXIT_UNREADABLE
    finally:
        engine.dispose()
    for line in summary_lines(roster, tally):
        typer.echo(line)
    elapsed = time.monotonic() - started
    if len(roster.rows) >= PROGRESS_MIN_ROWS:
        typer.echo(f"用时 {elapsed:.1f} 秒（{len(roster.rows) / max(elapsed, 1e-6):,.0f} 行/秒）")
    return EXIT_SOME_REJECTED if roster.errors else EXIT_OK
