"""security and personal data: replay guard, consents, daily sweep marks, token lifecycle

- wechat_nonces: every accepted (timestamp, nonce) of a WeChat callback, with its message digest.
- consents: who accepted which privacy notice version, when, for whose data.
- daily_runs: once-a-day sweeps (the retention sweep) claimed per day across processes.
- api_tokens: expires_at and revoked_at; tokens made before this revision expire 90 days on.
- checkins: coordinates may be NULL (cleared by the retention sweep).

Revision ID: 0004_security
Revises: 0002
Create Date: 2026-12-06 10:11:13
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0004_security"
down_revision: str | None = "0006_tickets_reach_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXISTING_TOKENS_TTL = timedelta(days=90)
COORDINATES = ("raw_lat", "raw_lng", "norm_lat", "norm_lng")


def upgrade() -> None:
    op.create_table(
        "daily_runs",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", models.types.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "day"),
    )
    op.create_table(
        "wechat_nonces",
        sa.Column("timestamp", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", models.types.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("timestamp", "nonce"),
    )
    op.create_index("ix_wechat_nonces_at", "wechat_nonces", ["at"], unique=False)
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("basis", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("notice_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("at", models.types.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consents_person", "consents", ["person_kind", "person_id"], unique=False)
    op.create_index("ix_consents_student", "consents", ["student_id"], unique=False)

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", models.types.AwareDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("revoked_at", models.types.AwareDateTime(timezone=True), nullable=True)
        )
    tokens = sa.table(
        "api_tokens", sa.column("expires_at", models.types.AwareDateTime(timezone=True))
    )
    op.execute(
        tokens.update()
        .where(tokens.c.expires_at.is_(None))
        .values(expires_at=datetime.now(UTC) + EXISTING_TOKENS_TTL)
    )

    with op.batch_alter_table("checkins", schema=None) as batch_op:
        for name in COORDINATES:
            batch_op.alter_column(name, existing_type=sa.FLOAT(), nullable=True)


def downgrade() -> None:
    checkins = sa.table("checkins", *(sa.column(name) for name in COORDINATES))
    op.execute(checkins.delete().where(checkins.c.norm_lat.is_(None)))
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        for name in COORDINATES:
            batch_op.alter_column(name, existing_type=sa.FLOAT(), nullable=False)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
    op.drop_index("ix_consents_student", table_name="consents")
    op.drop_index("ix_consents_person", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_wechat_nonces_at", table_name="wechat_nonces")
    op.drop_table("wechat_nonces")
    op.drop_table("daily_runs")
