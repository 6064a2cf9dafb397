"""Projects (服务项目): needs grouped into a project with goal, period, budget and the resources it asks for; one
active claim by a unit's party organisation, a branch or a team (partial UNIQUE index); tasks under a project.

Revision ID: 0015_projects
Revises: 0014_needs
"""

import sqlalchemy as sa
from alembic import op

import timebank.db_base

# revision identifiers, used by Alembic.
revision = '0015_projects'
down_revision = '0014_needs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('project',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_path', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('tier', sa.Enum('basic', 'key', 'flagship', name='projecttier', native_enum=False, length=16), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('goal', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('budget_minutes', sa.Integer(), nullable=False),
    sa.Column('budget_points', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('open', 'claimed', 'in_progress', 'accepted', 'closed', 'cancelled', name='projectstatus', native_enum=False, length=16), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', timebank.db_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', timebank.db_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', timebank.db_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', timebank.db_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('satisfaction', sa.SmallInteger(), nullable=True),
    sa.Column('acceptance_note', sa.String(length=500), nullable=True),
    sa.Column('closed_at', timebank.db_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', timebank.db_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint('budget_minutes >= 0 AND budget_points >= 0', name=op.f('ck_project_budget_not_negative')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_project_ends_after_start')),
    sa.CheckConstraint('satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5', name=op.f('ck_project_satisfaction_range')),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['person.id'], name=op.f('fk_project_accepted_by_id_person')),
    sa.ForeignKeyConstraint(['community_id'], ['org.id'], name=op.f('fk_project_community_id_org')),
    sa.ForeignKeyConstraint(['created_by_id'], ['person.id'], name=op.f('fk_project_created_by_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project'))
    )
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_community_path'), ['community_path'], unique=False)
        batch_op.create_index('ix_project_status_community_path', ['status', 'community_path'], unique=False)

    op.create_table('project_claim',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('unit', 'branch', 'team', name='claimantkind', native_enum=False, length=16), nullable=False),
    sa.Column('employer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.Enum('active', 'withdrawn', name='projectclaimstatus', native_enum=False, length=16), nullable=False),
    sa.Column('claimed_at', timebank.db_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', timebank.db_base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(CASE WHEN employer_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN branch_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN team_id IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_project_claim_one_claimant')),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], name=op.f('fk_project_claim_branch_id_branch')),
    sa.ForeignKeyConstraint(['employer_id'], ['employer.id'], name=op.f('fk_project_claim_employer_id_employer')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_project_claim_person_id_person')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_claim_project_id_project')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_project_claim_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_claim'))
    )
    with op.batch_alter_table('project_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_claim_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_claim_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_claim_team_id'), ['team_id'], unique=False)
        batch_op.create_index('uq_project_claim_active', ['project_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('project_need',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('need_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['need.id'], name=op.f('fk_project_need_need_id_need')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_need_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_need')),
    sa.UniqueConstraint('need_id', name=op.f('uq_project_need_need_id'))
    )
    with op.batch_alter_table('project_need', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_need_project_id'), ['project_id'], unique=False)

    op.create_table('project_resource',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('venue', 'funds', 'goods', 'skill', 'volunteers', name='resourcekind', native_enum=False, length=16), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('unit_resource_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_resource_project_id_project')),
    sa.ForeignKeyConstraint(['unit_resource_id'], ['unit_resource.id'], name=op.f('fk_project_resource_unit_resource_id_unit_resource')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_resource'))
    )
    with op.batch_alter_table('project_resource', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_resource_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_resource_unit_resource_id'), ['unit_resource_id'], unique=False)

    op.create_table('project_task',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_task_project_id_project')),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_project_task_task_id_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_task')),
    sa.UniqueConstraint('task_id', name=op.f('uq_project_task_task_id'))
    )
    with op.batch_alter_table('project_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_task_project_id'), ['project_id'], unique=False)



def downgrade():
    with op.batch_alter_table('project_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_task_project_id'))

    op.drop_table('project_task')
    with op.batch_alter_table('project_resource', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_resource_unit_resource_id'))
        batch_op.drop_index(batch_op.f('ix_project_resource_project_id'))

    op.drop_table('project_resource')
    with op.batch_alter_table('project_need', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_need_project_id'))

    op.drop_table('project_need')
    with op.batch_alter_table('project_claim', schema=None) as batch_op:
        batch_op.drop_index('uq_project_claim_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_project_claim_team_id'))
        batch_op.drop_index(batch_op.f('ix_project_claim_employer_id'))
        batch_op.drop_index(batch_op.f('ix_project_claim_branch_id'))

    op.drop_table('project_claim')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index('ix_project_status_community_path')
        batch_op.drop_index(batch_op.f('ix_project_community_path'))
        batch_op.drop_index(batch_op.f('ix_project_community_id'))

    op.drop_table('project')
