"""findings: half-empty pages on PostgreSQL, so that the daily sweep's updates stay HOT

The compliance sweep moves every open finding's last_seen each day (and sets notified_at,
reopens, resolves). None of those columns is indexed, so PostgreSQL can update a row in
place on its own page (a HOT update, no new entries in the five indexes) when the page has
room. With full pages every update was a new row version plus five index entries: at a
tenth of the seed's scale the next day's update of 63,735 findings took ~1.2 s, with
fillfactor 50 ~0.3 s. Pages already written keep their fill until rewritten (VACUUM FULL).
SQLite has no fillfactor: nothing to do there.

Revision ID: 0012_findings_fillfactor
Revises: 0011_evidence
Create Date: 2026-12-06 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_findings_fillfactor"
down_revision: str | None = "0011_evidence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE findings SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE findings RESET (fillfactor)")
