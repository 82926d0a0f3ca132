"""What every bench section shares: settings for a bench database, timing, missing pieces."""

from __future__ import annotations

import importlib
import statistics
import time
from datetime import datetime
from datetime import time as dtime
from zoneinfo import ZoneInfo

from core.settings import Settings

TZ = ZoneInfo("Asia/Shanghai")
NOT_BUILT = "n/a (not built yet)"


def bench_settings(url: str, **sections) -> Settings:
    """Shipped defaults with the bench database; channels only where a section turns them on."""
    return Settings(
        database={"url": url},
        wechat=sections.pop("wechat", {"token": ""}),
        telegram=sections.pop("telegram", {"token": ""}),
        **sections,
    )


def at_local(day, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, dtime(h, m), TZ)


def optional(module: str, *names: str):
    """The named attributes of a module another engineer is building, or None if not there yet."""
    try:
        mod = importlib.import_module(module)
        return tuple(getattr(mod, n) for n in names)
    except (ImportError, AttributeError):
        return None


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - t0, value


def repeat_ms(fn, n: int) -> dict:
    """Cold (first) and warm (median of the rest) milliseconds of n calls."""
    runs = [timed(fn)[0] * 1000 for _ in range(n)]
    warm = runs[1:] or runs
    return {"cold_ms": round(runs[0], 1), "median_ms": round(statistics.median(warm), 1)}
