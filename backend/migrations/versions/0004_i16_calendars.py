"""the expert's own calendars: sources and their cached busy intervals (issue 16)

Revision ID: 0004_i16
Revises: 0003_i13
Create Date: 2026-12-02 00:40:00
"""
from alembic import op
import sqlalchemy as sa
import backend.types


revision = '0004_i16'
down_revision = '0003_i13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_source',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('username', sa.String(length=320), nullable=True),
    sa.Column('password_encrypted', sa.Text(), nullable=True),
    sa.Column('write_bookings', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('last_synced_at', backend.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_sync_at', backend.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', backend.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['expert.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('calendar_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_source_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index('ix_calendar_source_next_sync_at', ['next_sync_at'], unique=False)

    op.create_table('calendar_busy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('start', backend.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', backend.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['expert.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['calendar_source.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('calendar_busy', schema=None) as batch_op:
        batch_op.create_index('ix_calendar_busy_expert_start', ['expert_id', 'start'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_busy_source_id'), ['source_id'], unique=False)


def downgrade():
    with op.batch_alter_table('calendar_busy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_busy_source_id'))
        batch_op.drop_index('ix_calendar_busy_expert_start')
    op.drop_table('calendar_busy')
    with op.batch_alter_table('calendar_source', schema=None) as batch_op:
        batch_op.drop_index('ix_calendar_source_next_sync_at')
        batch_op.drop_index(batch_op.f('ix_calendar_source_expert_id'))
    op.drop_table('calendar_source')
