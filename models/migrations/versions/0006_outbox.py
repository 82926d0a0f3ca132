"""outbox: the delivery pass that holds a 'sending' row

A claimed row names the pass that claimed it; that pass holds a lock named by the same id for as
long as it may send (a PostgreSQL session advisory lock, or a file lock beside a SQLite
database), so a row left 'sending' by a dead sender is taken over as soon as its lock is free,
instead of when a lease measured on some clock runs out (bot/outbox_owner.py).

Revision ID: 0006_outbox
Revises: 0002
Create Date: 2026-12-06 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_outbox"
down_revision: str | None = "0008_surveys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("claimed_by")
