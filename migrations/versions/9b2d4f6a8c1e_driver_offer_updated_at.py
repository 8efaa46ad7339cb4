"""driver offers: updated_at, so that an edited offer changes the day's fingerprint

Revision ID: 9b2d4f6a8c1e
Revises: 83b110a04387
Create Date: 2026-11-28 11:35:00

Processes keep a day's offers between requests and compare the drivers' fingerprint
(app.services.day_state.drivers_fingerprint) before reusing them; an offer whose hour or days
were edited in place must change it. Existing rows take their creation time.
"""
from alembic import op
import sqlalchemy as sa

revision = '9b2d4f6a8c1e'
down_revision = '83b110a04387'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('driver_offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE driver_offers SET updated_at = created_at")
    with op.batch_alter_table('driver_offers', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade():
    with op.batch_alter_table('driver_offers', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
