"""reminder kind: a column instead of the sign of the offset

Revision ID: 4b1e7d2a9c30
Revises: cdac65c8baa5
Create Date: 2026-11-30 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "4b1e7d2a9c30"
down_revision = "cdac65c8baa5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
    op.execute("UPDATE reminders SET kind = CASE WHEN person_id IS NOT NULL THEN 'person' "
               "WHEN offset_minutes < 0 THEN 'follow_up' ELSE 'group' END")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=16), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_column("kind")
