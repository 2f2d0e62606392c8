"""waitlists, coupons and deposits (issue 18)

Revision ID: 0005_i18
Revises: 0004_i16
Create Date: 2026-12-02 01:45:00

"""
import sqlalchemy as sa
from alembic import op

import backend.types

revision = '0005_i18'
down_revision = '0004_i16'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'coupon',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('percent_off', sa.Integer(), nullable=True),
        sa.Column('amount_off', sa.Integer(), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('services', sa.JSON(), nullable=True),
        sa.Column('max_uses', sa.Integer(), nullable=True),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.Column('expires_at', backend.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', backend.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['expert_id'], ['expert.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('expert_id', 'code'),
    )
    op.create_index('ix_coupon_expert_id', 'coupon', ['expert_id'])
    op.create_table(
        'waitlist_entry',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('expert_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.String(length=40), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('offer_nonce', sa.String(length=32), nullable=True),
        sa.Column('offered_at', backend.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('offer_expires_at', backend.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('booking_id', sa.String(length=40), nullable=True),
        sa.Column('created_at', backend.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['expert_id'], ['expert.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['service_id'], ['service.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['service_session.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['client_id'], ['client.id']),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_waitlist_entry_expert_id', 'waitlist_entry', ['expert_id'])
    op.create_index('ix_waitlist_session_status', 'waitlist_entry', ['session_id', 'status'])
    with op.batch_alter_table('service') as batch:
        batch.add_column(sa.Column('deposit_amount', sa.Integer(), nullable=True))
    with op.batch_alter_table('booking') as batch:
        batch.add_column(sa.Column('coupon_code', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('discount_amount', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('deposit_amount', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('booking') as batch:
        batch.drop_column('deposit_amount')
        batch.drop_column('discount_amount')
        batch.drop_column('coupon_code')
    with op.batch_alter_table('service') as batch:
        batch.drop_column('deposit_amount')
    op.drop_index('ix_waitlist_session_status', table_name='waitlist_entry')
    op.drop_index('ix_waitlist_entry_expert_id', table_name='waitlist_entry')
    op.drop_table('waitlist_entry')
    op.drop_index('ix_coupon_expert_id', table_name='coupon')
    op.drop_table('coupon')
