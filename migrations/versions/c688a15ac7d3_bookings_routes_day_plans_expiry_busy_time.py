"""bookings: routes, day plans, proposal expiry and busy time

Revision ID: c688a15ac7d3
Revises: 5c3e9a7d2b10
Create Date: 2026-11-28 00:56:02.351908

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c688a15ac7d3'
down_revision = '5c3e9a7d2b10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('day_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('proven_optimal', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('day_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_day_plans_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_day_plans_scope'), ['scope'], unique=False)
        batch_op.create_index(batch_op.f('ix_day_plans_status'), ['status'], unique=False)

    op.create_table('ride_routes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('distance_m', sa.Integer(), nullable=True),
    sa.Column('stops', sa.JSON(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_via', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offer_id'], ['driver_offers.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['plan_id'], ['day_plans.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ride_routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ride_routes_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_ride_routes_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_ride_routes_driver_id'), ['driver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ride_routes_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ride_routes_status'), ['status'], unique=False)

    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('busy_from', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('busy_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('return_pickup_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('leg', sa.String(length=10), server_default='both', nullable=False))
        batch_op.add_column(sa.Column('route_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_proposals_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_route_id'), ['route_id'], unique=False)
        batch_op.create_foreign_key('fk_proposals_route_id', 'ride_routes', ['route_id'], ['id'], ondelete='SET NULL')

    # A plain ADD COLUMN: recreating ride_needs on SpatiaLite would rebuild its geometry
    # columns' spatial indexes, which an earlier batch left behind under the temporary name.
    op.add_column('ride_needs', sa.Column('auto_next', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    op.drop_column('ride_needs', 'auto_next')

    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_constraint('fk_proposals_route_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_proposals_route_id'))
        batch_op.drop_index(batch_op.f('ix_proposals_expires_at'))
        batch_op.drop_column('route_id')
        batch_op.drop_column('leg')
        batch_op.drop_column('return_pickup_at')
        batch_op.drop_column('busy_until')
        batch_op.drop_column('busy_from')
        batch_op.drop_column('expires_at')

    with op.batch_alter_table('ride_routes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ride_routes_status'))
        batch_op.drop_index(batch_op.f('ix_ride_routes_expires_at'))
        batch_op.drop_index(batch_op.f('ix_ride_routes_driver_id'))
        batch_op.drop_index(batch_op.f('ix_ride_routes_day'))
        batch_op.drop_index(batch_op.f('ix_ride_routes_code'))

    op.drop_table('ride_routes')
    with op.batch_alter_table('day_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_day_plans_status'))
        batch_op.drop_index(batch_op.f('ix_day_plans_scope'))
        batch_op.drop_index(batch_op.f('ix_day_plans_day'))

    op.drop_table('day_plans')
