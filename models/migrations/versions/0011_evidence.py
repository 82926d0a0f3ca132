"""evidence: what each check-in rests on, its flags, point and verify state; device roll-up

Revision ID: 0011_evidence
Revises: 0010_roles
Create Date: 2026-12-06 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011_evidence"
down_revision: str | None = "0010_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("evidence", text(length=8), nullable=False, server_default="pin")
        )
        batch_op.add_column(sa.Column("flags", text(length=96), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("point", text(length=24), nullable=True))
        batch_op.add_column(sa.Column("verify", text(length=8), nullable=False, server_default=""))
        batch_op.create_index("ix_checkins_point_day", ["point", "day"], unique=False)
    with op.batch_alter_table("school_days", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("device_checkins", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("school_days", schema=None) as batch_op:
        batch_op.drop_column("device_checkins")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_checkins_point_day")
        batch_op.drop_column("verify")
        batch_op.drop_column("point")
        batch_op.drop_column("flags")
        batch_op.drop_column("evidence")
