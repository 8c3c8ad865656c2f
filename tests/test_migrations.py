"""The Alembic migrations and the models describe the same schema, on every database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
