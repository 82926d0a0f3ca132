"""leaves: students' requests to be excused (请假), decided by their teacher

Approved leave days are not due (core.due): no nudge, no escalation, not in 签到率.

Revision ID: 0003_due_leave
Revises: 0002
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0003_due_leave"
down_revision: str | None = "0006_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int):
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "leaves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("reason", _text(500), nullable=False),
        sa.Column("status", _text(12), nullable=False),
        sa.Column("source", _text(12), nullable=False),
        sa.Column("requested_by", _text(64), nullable=False),
        sa.Column("decided_by", _text(64), nullable=False),
        sa.Column("decided_at", models.types.AwareDateTime(timezone=True), nullable=True),
        sa.Column("refusal", _text(500), nullable=False),
        sa.Column("created_at", models.types.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_leaves_school_status", "leaves", ["school_id", "status"])
    op.create_index("ix_leaves_student_dates", "leaves", ["student_id", "start_date", "end_date"])


def downgrade() -> None:
    op.drop_index("ix_leaves_student_dates", table_name="leaves")
    op.drop_index("ix_leaves_school_status", table_name="leaves")
    op.drop_table("leaves")
