"""surveys: three-party satisfaction surveys (三方满意度) sent in chat

Revision ID: 0008_surveys
Revises: 0002
Create Date: 2026-12-06 10:11:16
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0008_surveys"
down_revision: str | None = "0004_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    stamp = models.types.AwareDateTime(timezone=True)
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("round", text(length=12), nullable=False),
        sa.Column("respondent_kind", text(length=12), nullable=False),
        sa.Column("respondent_id", sa.Integer(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("q1", sa.Integer(), nullable=True),
        sa.Column("q2", sa.Integer(), nullable=True),
        sa.Column("q3", sa.Integer(), nullable=True),
        sa.Column("q4", sa.Integer(), nullable=True),
        sa.Column("q5", sa.Integer(), nullable=True),
        sa.Column("comment", text(), nullable=False),
        sa.Column("status", text(length=12), nullable=False),
        sa.Column("sent_at", stamp, nullable=False),
        sa.Column("reminded_at", stamp, nullable=True),
        sa.Column("answered_at", stamp, nullable=True),
        sa.Column("expires_at", stamp, nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.ForeignKeyConstraint(["placement_id"], ["placements.id"]),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("placement_id", "round", "respondent_kind", "respondent_id"),
    )
    with op.batch_alter_table("surveys") as batch_op:
        batch_op.create_index(
            "ix_surveys_respondent", ["respondent_kind", "respondent_id", "status"], unique=False
        )
        batch_op.create_index("ix_surveys_school_sent", ["school_id", "sent_at"], unique=False)
        batch_op.create_index("ix_surveys_student_id", ["student_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("surveys") as batch_op:
        batch_op.drop_index("ix_surveys_student_id")
        batch_op.drop_index("ix_surveys_school_sent")
        batch_op.drop_index("ix_surveys_respondent")
    op.drop_table("surveys")
