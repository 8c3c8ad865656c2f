"""meetup details (about, end, online link, hashtag, sequence), one person across platforms
(account codes, where to remind, last spoken), follows, calendar files sent (issue 11)

Revision ID: c5e9a2d4f7b1
Revises: b3f8d1e6a2c4
Create Date: 2026-12-01 05:15:20.527717
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = 'c5e9a2d4f7b1'
down_revision = 'b3f8d1e6a2c4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('expires_at', bot.db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_account_codes_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_account_codes_code'))
    )
    with op.batch_alter_table('account_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_codes_person_id'), ['person_id'], unique=False)

    op.create_table('follows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chapter_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chapter_id'], ['chapters.id'], name=op.f('fk_follows_chapter_id_chapters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_follows_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follows')),
    sa.UniqueConstraint('chapter_id', 'person_id', name=op.f('uq_follows_chapter_id_person_id'))
    )
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follows_person_id'), ['person_id'], unique=False)

    op.create_table('calendar_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('sent_at', bot.db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_calendar_sends_meetup_id_meetups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_calendar_sends_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_sends')),
    sa.UniqueConstraint('person_id', 'meetup_id', name=op.f('uq_calendar_sends_person_id_meetup_id'))
    )
    with op.batch_alter_table('calendar_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_sends_meetup_id'), ['meetup_id'], unique=False)

    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_spoke_at', bot.db.models.UTCDateTime(), nullable=True))

    with op.batch_alter_table('meetups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('about', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('ends_at', bot.db.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('online_link', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('hashtag', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remind_via', sa.String(length=16), nullable=True))

    with op.batch_alter_table('handled_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer', sa.String(length=255), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('handled_messages', schema=None) as batch_op:
        batch_op.drop_column('answer')

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('remind_via')

    with op.batch_alter_table('meetups', schema=None) as batch_op:
        batch_op.drop_column('sequence')
        batch_op.drop_column('hashtag')
        batch_op.drop_column('online_link')
        batch_op.drop_column('ends_at')
        batch_op.drop_column('about')

    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_column('last_spoke_at')

    with op.batch_alter_table('calendar_sends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_sends_meetup_id'))

    op.drop_table('calendar_sends')
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follows_person_id'))

    op.drop_table('follows')
    with op.batch_alter_table('account_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_codes_person_id'))

    op.drop_table('account_codes')
