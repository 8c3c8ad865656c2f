"""The Alembic migrations and the models describe the same schema, on every database."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from bot.db.models import Base
from bot.db.session import Database


async def test_models_and_migrations_do_not_drift(db: Database) -> None:
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], "run `alembic revision --autogenerate` and review it"


async def test_migrate_twice_is_harmless(db: Database) -> None:
    await db.migrate()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_copies_starting_together_migrate_once_and_both_serve(db_url: str) -> None:
    from bot.clock import VirtualClock
    from bot.core.app import Core
    from tests.fakes import Chat, RecordingMessenger

    first, second = Database(db_url), Database(db_url)
    try:
        await asyncio.gather(first.migrate(), second.migrate())
        async with first.transaction() as s:
            versions = list(await s.scalars(text("SELECT version_num FROM alembic_version")))
        assert len(versions) == 1
        for database in (first, second):
            messenger = RecordingMessenger()
            chat = Chat(Core(database, {messenger.platform: messenger}, VirtualClock()),
                        messenger, VirtualClock())
            assert (await chat.say("alice", "/help"))[0].text.startswith("What I can do")
    finally:
        await first.dispose()
        await second.dispose()


def test_heads_read_from_the_files_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    from bot.db.session import alembic_config, head_revisions

    assert head_revisions() == frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_heads_of_files_written_otherwise_are_left_to_alembic(tmp_path) -> None:
    from bot.db.session import head_revisions

    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision: str = "b"\ndown_revision = ("a",)\n')
    assert head_revisions(tmp_path) == {"b"}
    (tmp_path / "c.py").write_text('revision = make_id()\ndown_revision = "b"\n')
    assert head_revisions(tmp_path) is None


async def test_a_schema_at_the_head_is_seen_without_alembic(db_url: str) -> None:
    database = Database(db_url)  # an empty database: not at the head until migrated
    try:
        assert not await database.at_head()
        await database.migrate("c5e9a2d4f7b1")
        assert not await database.at_head()
        await database.migrate()  # from an older schema: Alembic runs
        assert await database.at_head()
    finally:
        await database.dispose()
