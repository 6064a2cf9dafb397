"""Co-building: a unit's report-in to a community with its resource list and co-building agreement, the
contributions recorded against the agreement, and the community's yearly evaluation of the unit (双评议).

Revision ID: 0013_cobuilding
Revises: 0012_teams
"""

import sqlalchemy as sa
from alembic import op

import timebank.db_base

revision = "0013_cobuilding"
down_revision = "0012_teams"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('unit_report_in',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('employer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_path', sa.String(length=255), nullable=False),
    sa.Column('status', sa.Enum('pending', 'active', 'rejected', 'lapsed', 'withdrawn', name='unitreportinstatus', native_enum=False, length=16), nullable=False),
    sa.Column('party_org_name', sa.String(length=120), nullable=False),
    sa.Column('contact_name', sa.String(length=60), nullable=False),
    sa.Column('contact_phone', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('submitted_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', timebank.db_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('renewed_at', timebank.db_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', timebank.db_base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('expires_on >= reported_on', name=op.f('ck_unit_report_in_expires_after_reported')),
    sa.ForeignKeyConstraint(['community_id'], ['org.id'], name=op.f('fk_unit_report_in_community_id_org')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['person.id'], name=op.f('fk_unit_report_in_decided_by_id_person')),
    sa.ForeignKeyConstraint(['employer_id'], ['employer.id'], name=op.f('fk_unit_report_in_employer_id_employer')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['person.id'], name=op.f('fk_unit_report_in_submitted_by_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_report_in'))
    )
    with op.batch_alter_table('unit_report_in', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_report_in_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_report_in_community_path'), ['community_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_report_in_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index('ix_unit_report_in_status_expires', ['status', 'expires_on'], unique=False)
        batch_op.create_index('uq_unit_report_in_live', ['employer_id', 'community_id'], unique=True, sqlite_where=sa.text("status IN ('pending', 'active')"), postgresql_where=sa.text("status IN ('pending', 'active')"))

    op.create_table('cobuilding_agreement',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_in_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'in_force', 'void', 'ended', name='agreementstatus', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', timebank.db_base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_cobuilding_agreement_ends_after_start')),
    sa.ForeignKeyConstraint(['report_in_id'], ['unit_report_in.id'], name=op.f('fk_cobuilding_agreement_report_in_id_unit_report_in')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cobuilding_agreement')),
    sa.UniqueConstraint('report_in_id', name=op.f('uq_cobuilding_agreement_report_in_id'))
    )
    op.create_table('unit_evaluation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_in_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('employer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_path', sa.String(length=255), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('grade', sa.Enum('good', 'fairly_good', 'average', 'poor', name='unitgrade', native_enum=False, length=16), nullable=False),
    sa.Column('service_score', sa.SmallInteger(), nullable=False),
    sa.Column('resources_score', sa.SmallInteger(), nullable=False),
    sa.Column('agreement_score', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('evaluated_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('evaluated_at', timebank.db_base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('agreement_score BETWEEN 1 AND 5', name=op.f('ck_unit_evaluation_agreement_score_range')),
    sa.CheckConstraint('resources_score BETWEEN 1 AND 5', name=op.f('ck_unit_evaluation_resources_score_range')),
    sa.CheckConstraint('service_score BETWEEN 1 AND 5', name=op.f('ck_unit_evaluation_service_score_range')),
    sa.ForeignKeyConstraint(['community_id'], ['org.id'], name=op.f('fk_unit_evaluation_community_id_org')),
    sa.ForeignKeyConstraint(['employer_id'], ['employer.id'], name=op.f('fk_unit_evaluation_employer_id_employer')),
    sa.ForeignKeyConstraint(['evaluated_by_id'], ['person.id'], name=op.f('fk_unit_evaluation_evaluated_by_id_person')),
    sa.ForeignKeyConstraint(['report_in_id'], ['unit_report_in.id'], name=op.f('fk_unit_evaluation_report_in_id_unit_report_in')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_evaluation')),
    sa.UniqueConstraint('employer_id', 'community_id', 'year', name='uq_unit_evaluation_year')
    )
    with op.batch_alter_table('unit_evaluation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_evaluation_community_path'), ['community_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_evaluation_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_evaluation_report_in_id'), ['report_in_id'], unique=False)

    op.create_table('unit_resource',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_in_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('venue', 'funds', 'goods', 'skill', 'volunteers', name='resourcekind', native_enum=False, length=16), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('created_at', timebank.db_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', timebank.db_base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity IS NULL OR quantity >= 0', name=op.f('ck_unit_resource_quantity_not_negative')),
    sa.ForeignKeyConstraint(['report_in_id'], ['unit_report_in.id'], name=op.f('fk_unit_resource_report_in_id_unit_report_in')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_resource'))
    )
    with op.batch_alter_table('unit_resource', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_resource_report_in_id'), ['report_in_id'], unique=False)

    op.create_table('contribution',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('agreement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_in_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('employer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_path', sa.String(length=255), nullable=False),
    sa.Column('resource_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.Enum('funds', 'venue', 'goods', 'other', name='contributionkind', native_enum=False, length=16), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('quantity', sa.String(length=60), nullable=True),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('reverses_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_at', timebank.db_base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('reverses_id IS NOT NULL OR amount_fen IS NULL OR amount_fen >= 0', name=op.f('ck_contribution_amount_not_negative')),
    sa.ForeignKeyConstraint(['agreement_id'], ['cobuilding_agreement.id'], name=op.f('fk_contribution_agreement_id_cobuilding_agreement')),
    sa.ForeignKeyConstraint(['employer_id'], ['employer.id'], name=op.f('fk_contribution_employer_id_employer')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['person.id'], name=op.f('fk_contribution_recorded_by_id_person')),
    sa.ForeignKeyConstraint(['report_in_id'], ['unit_report_in.id'], name=op.f('fk_contribution_report_in_id_unit_report_in')),
    sa.ForeignKeyConstraint(['resource_id'], ['unit_resource.id'], name=op.f('fk_contribution_resource_id_unit_resource')),
    sa.ForeignKeyConstraint(['reverses_id'], ['contribution.id'], name=op.f('fk_contribution_reverses_id_contribution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contribution')),
    sa.UniqueConstraint('reverses_id', name='uq_contribution_reverses')
    )
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contribution_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contribution_community_path'), ['community_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_contribution_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contribution_report_in_id'), ['report_in_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contribution_resource_id'), ['resource_id'], unique=False)



def downgrade():
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contribution_resource_id'))
        batch_op.drop_index(batch_op.f('ix_contribution_report_in_id'))
        batch_op.drop_index(batch_op.f('ix_contribution_employer_id'))
        batch_op.drop_index(batch_op.f('ix_contribution_community_path'))
        batch_op.drop_index(batch_op.f('ix_contribution_agreement_id'))

    op.drop_table('contribution')
    with op.batch_alter_table('unit_resource', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_resource_report_in_id'))

    op.drop_table('unit_resource')
    with op.batch_alter_table('unit_evaluation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_evaluation_report_in_id'))
        batch_op.drop_index(batch_op.f('ix_unit_evaluation_employer_id'))
        batch_op.drop_index(batch_op.f('ix_unit_evaluation_community_path'))

    op.drop_table('unit_evaluation')
    op.drop_table('cobuilding_agreement')
    with op.batch_alter_table('unit_report_in', schema=None) as batch_op:
        batch_op.drop_index('uq_unit_report_in_live', sqlite_where=sa.text("status IN ('pending', 'active')"), postgresql_where=sa.text("status IN ('pending', 'active')"))
        batch_op.drop_index('ix_unit_report_in_status_expires')
        batch_op.drop_index(batch_op.f('ix_unit_report_in_employer_id'))
        batch_op.drop_index(batch_op.f('ix_unit_report_in_community_path'))
        batch_op.drop_index(batch_op.f('ix_unit_report_in_community_id'))

    op.drop_table('unit_report_in')
