"""The demo province the report tests share: its clock, period and settings."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import pytest

from core.settings import Settings
from tests.conftest import TZ

# A Monday, so the dashboard's last complete week is the report's last week.
TODAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=TZ)
FIRST, LAST = TODAY - timedelta(days=30), TODAY - timedelta(days=1)


def weasyprint_ready() -> bool:
    """WeasyPrint imports only when Pango is installed (Debian: libpango-1.0-0)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


needs_pdf = pytest.mark.skipif(
    not weasyprint_ready() or shutil.which("pdftotext") is None,
    reason="needs WeasyPrint with Pango and poppler-utils (see .ci/run)",
)


def demo_settings(url: str) -> Settings:
    return Settings(database={"url": url}, server={"secret_key": "test", "cookie_secure": False})
