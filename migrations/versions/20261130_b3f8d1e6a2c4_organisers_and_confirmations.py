"""organisers with a reason, chat admins seen, confirmations of destructive commands

Revision ID: b3f8d1e6a2c4
Revises: b3f1d6a2e7c4
Create Date: 2026-11-30 20:20:00

The old `is_organiser` flag came from /setup and from /link, and was never taken back. Only the
flag of each chapter's first organiser (the one who set it up: the earliest membership with
the flag) is kept, as "set up the chapter"; the flags /link gave are cleared. Admins of a chat
keep organising there: that right is checked live, not stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db.models import UTCDateTime

revision = "b3f8d1e6a2c4"
down_revision = "b3f1d6a2e7c4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organiser_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("organiser_added_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("organiser_since", UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_memberships_organiser_added_by_people"), "people",
            ["organiser_added_by"], ["id"], ondelete="SET NULL")

    op.execute(sa.text(
        "UPDATE memberships SET organiser_reason = 'setup', organiser_since = joined_at "
        "WHERE is_organiser AND id IN (SELECT MIN(m.id) FROM memberships m "
        "WHERE m.is_organiser AND m.joined_at = (SELECT MIN(f.joined_at) FROM memberships f "
        "WHERE f.chapter_id = m.chapter_id AND f.is_organiser) GROUP BY m.chapter_id)"))
    op.execute(sa.text("UPDATE memberships SET is_organiser = false "
                       "WHERE organiser_reason IS NULL"))

    op.create_table(
        "chat_admins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("binding_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["binding_id"], ["chat_bindings.id"],
                                name=op.f("fk_chat_admins_binding_id_chat_bindings"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"],
                                name=op.f("fk_chat_admins_person_id_people"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_admins")),
        sa.UniqueConstraint("binding_id", "person_id",
                            name=op.f("uq_chat_admins_binding_id_person_id")),
    )
    op.create_index(op.f("ix_chat_admins_person_id"), "chat_admins", ["person_id"], unique=False)

    op.create_table(
        "confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("chapter_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column("args", sa.String(length=200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["chapter_id"], ["chapters.id"],
                                name=op.f("fk_confirmations_chapter_id_chapters"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"],
                                name=op.f("fk_confirmations_person_id_people"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmations")),
        sa.UniqueConstraint("chapter_id", "person_id", "command",
                            name=op.f("uq_confirmations_chapter_id_person_id_command")),
        sa.UniqueConstraint("token", name=op.f("uq_confirmations_token")),
    )
    op.create_index(op.f("ix_confirmations_person_id"), "confirmations", ["person_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_confirmations_person_id"), table_name="confirmations")
    op.drop_table("confirmations")
    op.drop_index(op.f("ix_chat_admins_person_id"), table_name="chat_admins")
    op.drop_table("chat_admins")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_memberships_organiser_added_by_people"),
                                 type_="foreignkey")
        batch_op.drop_column("organiser_since")
        batch_op.drop_column("organiser_added_by")
        batch_op.drop_column("organiser_reason")
