"""reminders: an index for the rows being sent (issue 14: the scheduler's next wake read every
pending reminder)

Revision ID: e1f2a3b4c5d6
Revises: d7a4c9e1b2f6
Create Date: 2026-12-01 12:00:00
"""
from __future__ import annotations

from alembic import op

revision = 'e1f2a3b4c5d6'
down_revision = 'd7a4c9e1b2f6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_claimed', ['status', 'claimed_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_reminders_claimed')
