"""one open poll per chapter, as a partial unique index

Revision ID: 9e4a1c7b2d55
Revises: 7c2d5e1f8a40
Create Date: 2026-11-30 18:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9e4a1c7b2d55"
down_revision = "7c2d5e1f8a40"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.create_index("ux_polls_one_open", ["chapter_id"], unique=True,
                              sqlite_where=sa.text("closed_at IS NULL"),
                              postgresql_where=sa.text("closed_at IS NULL"))


def downgrade() -> None:
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.drop_index("ux_polls_one_open")
