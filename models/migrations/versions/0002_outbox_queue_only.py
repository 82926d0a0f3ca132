"""outbox: only what the queue's own queries use

The outbox is written in bulk by the sweeps (a province's nudges are 229,301 rows at once). Its
foreign key to schools and its indexes on school and person served no query, yet cost a
trigger call and two index entries per row: about a third of the nudge sweep on PostgreSQL.
school_id stays as the school's label on each message.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 04:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0001 left the foreign key unnamed: PostgreSQL named it itself; on SQLite batch mode names the
# reflected constraint by this convention so that it can be dropped.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _fk_name() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "outbox_school_id_fkey"
    return "fk_outbox_school_id_schools"


def upgrade() -> None:
    with op.batch_alter_table("outbox", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(_fk_name(), type_="foreignkey")
        batch_op.drop_index("ix_outbox_school_id")
        batch_op.drop_index("ix_outbox_person")


def downgrade() -> None:
    with op.batch_alter_table("outbox", naming_convention=NAMING) as batch_op:
        batch_op.create_index("ix_outbox_person", ["person_kind", "person_id"], unique=False)
        batch_op.create_index("ix_outbox_school_id", ["school_id"], unique=False)
        batch_op.create_foreign_key(_fk_name(), "schools", ["school_id"], ["id"])
