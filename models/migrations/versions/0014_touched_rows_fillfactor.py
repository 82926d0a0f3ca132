"""channel_accounts, conversation_states, invite_codes: room on their pages for HOT updates

Every message moves its sender's 48-hour window (channel_accounts.last_inbound_at), every
dialog step rewrites the sender's conversation state, and every binding marks its invite code
used. None of those columns is indexed, so PostgreSQL can update each row in place on its
own page (a HOT update: no new index entries, no index bloat) when the page has room. Filled
to the brim by a bulk load, the pages had none: in a bench run 57 % of the accounts' updates
were new row versions with an entry in each of the three indexes. Pages written from now on
keep 20-30 % free; those already full keep their fill until rewritten. SQLite has no
fillfactor: nothing to do there.

Revision ID: 0014_touched_rows_fillfactor
Revises: 0013_checkins_point_index
Create Date: 2026-12-06 20:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_touched_rows_fillfactor"
down_revision: str | None = "0013_checkins_point_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILL = {"channel_accounts": 70, "conversation_states": 70, "invite_codes": 80}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, fill in FILL.items():
            op.execute(f"ALTER TABLE {table} SET (fillfactor = {fill})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in FILL:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
