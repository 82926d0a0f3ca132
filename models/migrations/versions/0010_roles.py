"""roles: a company mentor per placement (roster mentor_name / mentor_phone)

A mentor sees, and grades the journals of, the interns whose placement names them.

Revision ID: 0010_roles
Revises: 0003_due_leave
Create Date: 2026-12-06 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_roles"
down_revision: str | None = "0003_due_leave"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mentor_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_placements_mentor_id"), ["mentor_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_placements_mentor_id_mentors", "mentors", ["mentor_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.drop_constraint("fk_placements_mentor_id_mentors", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_placements_mentor_id"))
        batch_op.drop_column("mentor_id")
