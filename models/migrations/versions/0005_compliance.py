"""compliance: findings, the daily run marker, per-school tallies; placements' compliance facts

agreement_signed and insured become nullable: a roster that does not say is "unknown" to the
rules, not a violation.

Revision ID: 0005_compliance
Revises: 0002
Create Date: 2026-12-06 10:10:37.312801
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '0005_compliance'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('compliance_runs',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('started_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('compliance_tallies',
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('placements', sa.Integer(), nullable=False),
    sa.Column('open', sa.Integer(), nullable=False),
    sa.Column('waived', sa.Integer(), nullable=False),
    sa.Column('unknown', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], ),
    sa.PrimaryKeyConstraint('school_id', 'rule')
    )
    op.create_table('findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('article', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('placement_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('first_seen', sa.Date(), nullable=False),
    sa.Column('last_seen', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('waived_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('resolved_at', models.types.AwareDateTime(timezone=True), nullable=True),
    sa.Column('notified_at', models.types.AwareDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], ),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('placement_id', 'rule')
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_rule_status', ['rule', 'status'], unique=False)
        batch_op.create_index('ix_findings_school_status', ['school_id', 'status'], unique=False)
        batch_op.create_index('ix_findings_student', ['student_id'], unique=False)

    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grade', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('arranged_by', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch_op.add_column(sa.Column('guardian_consent', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('post_wage', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('company_headcount', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('post_headcount', sa.Integer(), nullable=True))
        batch_op.alter_column('agreement_signed',
               existing_type=sa.BOOLEAN(),
               nullable=True)
        batch_op.alter_column('insured',
               existing_type=sa.BOOLEAN(),
               nullable=True)



def downgrade() -> None:
    op.execute("UPDATE placements SET agreement_signed = false WHERE agreement_signed IS NULL")
    op.execute("UPDATE placements SET insured = false WHERE insured IS NULL")
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.alter_column('insured',
               existing_type=sa.BOOLEAN(),
               nullable=False)
        batch_op.alter_column('agreement_signed',
               existing_type=sa.BOOLEAN(),
               nullable=False)
        batch_op.drop_column('post_headcount')
        batch_op.drop_column('company_headcount')
        batch_op.drop_column('post_wage')
        batch_op.drop_column('guardian_consent')
        batch_op.drop_column('arranged_by')
        batch_op.drop_column('grade')

    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_student')
        batch_op.drop_index('ix_findings_school_status')
        batch_op.drop_index('ix_findings_rule_status')

    op.drop_table('findings')
    op.drop_table('compliance_tallies')
    op.drop_table('compliance_runs')
