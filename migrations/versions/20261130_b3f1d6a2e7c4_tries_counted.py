"""tries counted: an update, a reminder or a poll close that fails every time is given up
after a bounded number of tries (issue 10)

Revision ID: b3f1d6a2e7c4
Revises: 9e4a1c7b2d55
Create Date: 2026-11-30 20:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "b3f1d6a2e7c4"
down_revision = "9e4a1c7b2d55"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0",
                                      nullable=False))
        batch_op.add_column(sa.Column("failed_at", bot.db.models.UTCDateTime(), nullable=True))
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0",
                                      nullable=False))
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("close_attempts", sa.Integer(), server_default="0",
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.drop_column("close_attempts")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_column("attempts")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_column("failed_at")
        batch_op.drop_column("attempts")
