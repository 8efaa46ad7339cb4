"""partner operators, their bookings and messages (Standard covoiturage)

Revision ID: 83b110a04387
Revises: c688a15ac7d3
Create Date: 2026-11-28 01:51:15.331451

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '83b110a04387'
down_revision = 'c688a15ac7d3'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('partner_operators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('contact', sa.String(length=300), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('key_prefix', sa.String(length=12), nullable=False),
    sa.Column('scopes', sa.String(length=100), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('partner_operators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_operators_domain'), ['domain'], unique=False)

    op.create_table('partner_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_uuid', sa.String(length=36), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.Column('beneficiary_id', sa.Integer(), nullable=True),
    sa.Column('driver_id', sa.Integer(), nullable=True),
    sa.Column('offer_id', sa.Integer(), nullable=True),
    sa.Column('driver_journey_id', sa.String(length=255), nullable=False),
    sa.Column('passenger_id', sa.String(length=255), nullable=False),
    sa.Column('passenger_alias', sa.String(length=100), nullable=False),
    sa.Column('pickup_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pickup_lat', sa.Float(), nullable=False),
    sa.Column('pickup_lng', sa.Float(), nullable=False),
    sa.Column('drop_lat', sa.Float(), nullable=False),
    sa.Column('drop_lng', sa.Float(), nullable=False),
    sa.Column('pickup_address', sa.String(length=300), nullable=True),
    sa.Column('drop_address', sa.String(length=300), nullable=True),
    sa.Column('duration_s', sa.Integer(), nullable=True),
    sa.Column('distance_m', sa.Integer(), nullable=True),
    sa.Column('price_amount_eur', sa.Float(), nullable=True),
    sa.Column('validated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiaries.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['need_id'], ['ride_needs.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['offer_id'], ['driver_offers.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['operator_id'], ['partner_operators.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('operator_id', 'booking_uuid')
    )
    with op.batch_alter_table('partner_bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_bookings_booking_uuid'), ['booking_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_bookings_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_bookings_operator_id'), ['operator_id'], unique=False)

    op.create_table('partner_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('driver_id', sa.Integer(), nullable=True),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('sender_alias', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sms_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['partner_bookings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['operator_id'], ['partner_operators.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sms_id'], ['sms_messages.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('partner_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_messages_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_messages_operator_id'), ['operator_id'], unique=False)




def downgrade():

    with op.batch_alter_table('partner_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_messages_operator_id'))
        batch_op.drop_index(batch_op.f('ix_partner_messages_booking_id'))

    op.drop_table('partner_messages')
    with op.batch_alter_table('partner_bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_bookings_operator_id'))
        batch_op.drop_index(batch_op.f('ix_partner_bookings_need_id'))
        batch_op.drop_index(batch_op.f('ix_partner_bookings_booking_uuid'))

    op.drop_table('partner_bookings')
    with op.batch_alter_table('partner_operators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_operators_domain'))

    op.drop_table('partner_operators')

