"""The demo province on SQLite, built once, and its quality report (figures, PDF, text)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlmodel import Session

from api.commands.demo import generate_demo
from core.quality_report import build_report
from core.stats import scope_user
from models.db import make_engine
from tests.report.report_world import FIRST, LAST, NOW, demo_settings


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory, sqlite_template) -> str:
    """A demo province (600 students, 45 days of history) in a SQLite file of its own."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    generate_demo(demo_settings(url), engine, students=600, days=45, seed=2019, now=NOW)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def demo_engine(demo_url):
    engine = make_engine(demo_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def province_report(demo_engine, demo_url) -> dict:
    with Session(demo_engine) as session:
        return build_report(
            session,
            scope_user("province"),
            first=FIRST,
            last=LAST,
            settings=demo_settings(demo_url),
            now=NOW,
        )


@pytest.fixture(scope="session")
def province_pdf(province_report, tmp_path_factory):
    """The rendered PDF's path and its text (pdftotext -layout)."""
    from api.report.pdf import render_pdf

    path = tmp_path_factory.mktemp("pdf") / "province.pdf"
    path.write_bytes(render_pdf(province_report))
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return path, text
