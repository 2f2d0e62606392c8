"""sessions the expert sets up: one-off title and payment options, an optional offer expiry

Revision ID: 0003_i13
Revises: 0002
Create Date: 2026-12-02 00:40:00

"""
from alembic import op
import sqlalchemy as sa
import backend.types


# revision identifiers, used by Alembic.
revision = '0003_i13'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking') as batch:
        # A one-off's own title and payment options (a service's come from the service).
        batch.add_column(sa.Column('title', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('offered_payment_options', sa.JSON(), nullable=True))
        # A pending session's offer lapses here: the link says so and the time is free again.
        batch.add_column(sa.Column('expires_at', backend.types.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('booking') as batch:
        batch.drop_column('expires_at')
        batch.drop_column('offered_payment_options')
        batch.drop_column('title')
