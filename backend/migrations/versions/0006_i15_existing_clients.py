"""existing clients: sign-in codes, client sessions, package plans and purchases, collections (issue 15)

Revision ID: 0006_i15
Revises: 0005_i18
"""
import sqlalchemy as sa
from alembic import op

import backend.types

revision = '0006_i15'
down_revision = '0005_i18'
branch_labels = None
depends_on = None

UTC = backend.types.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        'client_login_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), sa.ForeignKey('expert.id', ondelete='CASCADE'), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('email_key', sa.String(length=320), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('link_hash', sa.String(length=64), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('expires_at', UTC, nullable=False),
        sa.Column('used_at', UTC, nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('link_hash'),
    )
    op.create_index('ix_client_login_code_email', 'client_login_code', ['expert_id', 'email_key'])
    op.create_table(
        'client_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), sa.ForeignKey('expert.id', ondelete='CASCADE'), nullable=False),
        sa.Column('client_id', sa.Integer(), sa.ForeignKey('client.id', ondelete='CASCADE'), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', UTC, nullable=False),
        sa.Column('ended_at', UTC, nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_client_session_expert_id', 'client_session', ['expert_id'])
    op.create_index('ix_client_session_client_id', 'client_session', ['client_id'])
    op.create_table(
        'package_plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), sa.ForeignKey('expert.id', ondelete='CASCADE'), nullable=False),
        sa.Column('slug', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('sessions', sa.Integer(), nullable=False),
        sa.Column('service_ids', sa.JSON(), nullable=False),
        sa.Column('price_amount', sa.Integer(), nullable=False),
        sa.Column('price_currency', sa.String(length=3), nullable=False),
        sa.Column('expires_after_days', sa.Integer(), nullable=True),
        sa.Column('visibility', sa.String(length=16), nullable=False),
        sa.Column('archived', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('expert_id', 'slug'),
    )
    op.create_index('ix_package_plan_expert_id', 'package_plan', ['expert_id'])
    op.create_table(
        'package_purchase',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('expert_id', sa.Integer(), sa.ForeignKey('expert.id', ondelete='CASCADE'), nullable=False),
        sa.Column('plan_id', sa.Integer(), sa.ForeignKey('package_plan.id'), nullable=False),
        sa.Column('client_id', sa.Integer(), sa.ForeignKey('client.id'), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('provider_payment_id', sa.String(length=100), nullable=True),
        sa.Column('client_package_id', sa.Integer(), sa.ForeignKey('client_package.id'), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('paid_at', UTC, nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('provider_payment_id'),
        sa.UniqueConstraint('client_package_id'),
    )
    op.create_index('ix_package_purchase_expert_id', 'package_purchase', ['expert_id'])
    op.create_index('ix_package_purchase_client_id', 'package_purchase', ['client_id'])
    op.create_table(
        'collection',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), sa.ForeignKey('expert.id', ondelete='CASCADE'), nullable=False),
        sa.Column('slug', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('items', sa.JSON(), nullable=False),
        sa.Column('clients_only', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('expert_id', 'slug'),
    )
    op.create_index('ix_collection_expert_id', 'collection', ['expert_id'])


def downgrade():
    op.drop_table('collection')
    op.drop_table('package_purchase')
    op.drop_table('package_plan')
    op.drop_table('client_session')
    op.drop_table('client_login_code')
