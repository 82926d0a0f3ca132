"""tickets: every category that applies, and when an untouched one went to the school

Revision ID: 0006_tickets_reach_people
Revises: 0005_compliance
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0006_tickets_reach_people"
down_revision: str | None = "0005_compliance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("categories", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("escalated_at", models.types.AwareDateTime(timezone=True), nullable=True)
        )
    # Existing tickets: their one category is all they were given. (The default stays, for
    # writers that leave the list out: readers take an empty list as [category].)
    op.execute(
        sa.text("UPDATE tickets SET categories = json_array(category)")
        if op.get_context().dialect.name == "sqlite"
        else sa.text("UPDATE tickets SET categories = json_build_array(category)")
    )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("categories")
