"""the live wall (issue 13): walls, their posts, bans

Revision ID: d7a4c9e1b2f6
Revises: d7a3f9b2c6e1
Create Date: 2026-12-01 06:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = 'd7a4c9e1b2f6'
down_revision = 'd7a3f9b2c6e1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('walls',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('chapter_id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=True),
    sa.Column('hashtag', sa.String(length=100), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('approval_first', sa.Boolean(), nullable=False),
    sa.Column('join_url', sa.String(length=500), nullable=True),
    sa.Column('opened_at', bot.db.models.UTCDateTime(), nullable=False),
    sa.Column('closed_at', bot.db.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['chapter_id'], ['chapters.id'], name=op.f('fk_walls_chapter_id_chapters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_walls_meetup_id_meetups'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_walls'))
    )
    with op.batch_alter_table('walls', schema=None) as batch_op:
        batch_op.create_index('ix_walls_chapter_closed', ['chapter_id', 'closed_at'], unique=False)

    op.create_table('wall_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wall_id', sa.String(length=32), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('author_name', sa.String(length=64), nullable=False),
    sa.Column('author_id', sa.String(length=255), nullable=False),
    sa.Column('text', sa.String(length=2000), nullable=False),
    sa.Column('photo', sa.String(length=200), nullable=True),
    sa.Column('avatar', sa.String(length=200), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('approved', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.db.models.UTCDateTime(), nullable=False),
    sa.Column('source_event_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['wall_id'], ['walls.id'], name=op.f('fk_wall_posts_wall_id_walls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wall_posts')),
    sa.UniqueConstraint('platform', 'source_event_id', name=op.f('uq_wall_posts_platform_source_event_id')),
    sa.UniqueConstraint('wall_id', 'number', name=op.f('uq_wall_posts_wall_id_number'))
    )
    op.create_table('wall_bans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wall_id', sa.String(length=32), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('author_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', bot.db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['wall_id'], ['walls.id'], name=op.f('fk_wall_bans_wall_id_walls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wall_bans')),
    sa.UniqueConstraint('wall_id', 'platform', 'author_id', name=op.f('uq_wall_bans_wall_id_platform_author_id'))
    )


def downgrade() -> None:
    op.drop_table('wall_bans')
    op.drop_table('wall_posts')
    with op.batch_alter_table('walls', schema=None) as batch_op:
        batch_op.drop_index('ix_walls_chapter_closed')
    op.drop_table('walls')
