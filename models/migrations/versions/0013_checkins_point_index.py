"""checkins: the point index also orders by student, so "someone else here today" is one probe

The check-in evidence asks, for each new check-in, whether another student checked in at the
same point that day (LIMIT 1). With an index on (point, day) alone, PostgreSQL may prefer
reading the table from its start until a row matches (it guesses a point's rows lie all over
the table), which at a point nobody else used that day is every check-in ever made. Ordered
by student id, the index answers in one probe and a full read would need a sort, so the plan
cannot go wrong however the statistics look.

Revision ID: 0013_checkins_point_index
Revises: 0012_findings_fillfactor
Create Date: 2026-12-06 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_checkins_point_index"
down_revision: str | None = "0012_findings_fillfactor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_checkins_point_day")
        batch_op.create_index(
            "ix_checkins_point_day_student", ["point", "day", "student_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_checkins_point_day_student")
        batch_op.create_index("ix_checkins_point_day", ["point", "day"], unique=False)
