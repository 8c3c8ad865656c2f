"""chapter and event pages, calendar feeds (issue 13): chapters.slug (backfilled from the
names), calendar_tokens

Revision ID: d7a3f9b2c6e1
Revises: c5e9a2d4f7b1
Create Date: 2026-12-01 06:30:00
"""
from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = 'd7a3f9b2c6e1'
down_revision = 'c5e9a2d4f7b1'
branch_labels = None
depends_on = None


def slugify(text: str) -> str:
    """bot.core.slugs.slugify as it was when this revision was written."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")
    return slug or "chapter"


def unique_slug(base: str, taken: set[str]) -> str:
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def upgrade() -> None:
    with op.batch_alter_table('chapters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slug', sa.String(length=80), nullable=True))
    chapters = sa.table('chapters', sa.column('id', sa.Integer), sa.column('name', sa.String),
                        sa.column('slug', sa.String))
    bind = op.get_bind()
    taken: set[str] = set()
    for chapter_id, name in bind.execute(sa.select(chapters.c.id, chapters.c.name)
                                         .order_by(chapters.c.id)).all():
        slug = unique_slug(slugify(name), taken)
        taken.add(slug)
        bind.execute(chapters.update().where(chapters.c.id == chapter_id).values(slug=slug))
    with op.batch_alter_table('chapters', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_chapters_slug'), ['slug'])

    op.create_table('calendar_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_at', bot.db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_calendar_tokens_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_tokens')),
    sa.UniqueConstraint('person_id', name=op.f('uq_calendar_tokens_person_id')),
    sa.UniqueConstraint('token', name=op.f('uq_calendar_tokens_token'))
    )


def downgrade() -> None:
    op.drop_table('calendar_tokens')
    with op.batch_alter_table('chapters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_chapters_slug'), type_='unique')
        batch_op.drop_column('slug')
