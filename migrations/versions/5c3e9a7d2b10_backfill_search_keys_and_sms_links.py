"""backfill: people's search keys, and each stored SMS linked to the person it belongs to

Revision ID: 5c3e9a7d2b10
Revises: 1f7bdf1b5a02
Create Date: 2026-11-27 23:00:00

Data only. ``search_key`` is the accent- and case-free form of a person's name that the
forgiving search reads (app.services.search.person_search_key, a pure function). The SMS links
follow the rule of app.services.notifications: a message belongs to the person it was written
for, never to whoever else shares the number (a family member, an aidant).
"""
from alembic import op
import sqlalchemy as sa

revision = '5c3e9a7d2b10'
down_revision = '1f7bdf1b5a02'
branch_labels = None
depends_on = None


def _search_keys(bind, table: str) -> None:
    from app.services.search import person_search_key

    rows = bind.execute(sa.text(f"SELECT id, first_name, last_name FROM {table}")).all()
    for row_id, first, last in rows:
        bind.execute(sa.text(f"UPDATE {table} SET search_key = :key WHERE id = :id"),
                     {"key": person_search_key(first, last), "id": row_id})


def upgrade():
    bind = op.get_bind()
    _search_keys(bind, "beneficiaries")
    _search_keys(bind, "drivers")
    # Outbound messages about a proposal: its driver, when the message went to her number.
    bind.execute(sa.text(
        "UPDATE sms_messages SET driver_id = (SELECT p.driver_id FROM proposals p JOIN drivers d ON d.id = p.driver_id"
        " WHERE p.id = sms_messages.proposal_id AND d.phone_e164 = sms_messages.phone_e164)"
        " WHERE driver_id IS NULL AND proposal_id IS NOT NULL"))
    # Messages about a need and not a driver's: the need's beneficiary, when it is her number.
    bind.execute(sa.text(
        "UPDATE sms_messages SET beneficiary_id = (SELECT n.beneficiary_id FROM ride_needs n"
        " JOIN beneficiaries b ON b.id = n.beneficiary_id"
        " WHERE n.id = sms_messages.need_id AND b.phone_e164 = sms_messages.phone_e164)"
        " WHERE beneficiary_id IS NULL AND driver_id IS NULL AND need_id IS NOT NULL"))
    # Replies: the link of the message they answer.
    for column in ("driver_id", "beneficiary_id"):
        bind.execute(sa.text(
            f"UPDATE sms_messages SET {column} = (SELECT m.{column} FROM sms_messages m"
            " WHERE m.id = sms_messages.in_reply_to_id)"
            " WHERE driver_id IS NULL AND beneficiary_id IS NULL AND in_reply_to_id IS NOT NULL"))
    # Other messages: the one driver with that number when no beneficiary shares it, else the one
    # beneficiary with that number when no driver has it; a shared number stays unattributed.
    bind.execute(sa.text(
        "UPDATE sms_messages SET driver_id = (SELECT d.id FROM drivers d WHERE d.phone_e164 = sms_messages.phone_e164)"
        " WHERE driver_id IS NULL AND beneficiary_id IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM beneficiaries b WHERE b.phone_e164 = sms_messages.phone_e164)"))
    bind.execute(sa.text(
        "UPDATE sms_messages SET beneficiary_id = (SELECT MIN(b.id) FROM beneficiaries b"
        " WHERE b.phone_e164 = sms_messages.phone_e164)"
        " WHERE driver_id IS NULL AND beneficiary_id IS NULL"
        " AND (SELECT COUNT(*) FROM beneficiaries b WHERE b.phone_e164 = sms_messages.phone_e164) = 1"
        " AND NOT EXISTS (SELECT 1 FROM drivers d WHERE d.phone_e164 = sms_messages.phone_e164)"))


def downgrade():
    # The links and keys are dropped with their columns by the previous revision's downgrade.
    pass
