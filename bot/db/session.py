"""The async engine and the unit of work. Built by the composition root, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"
MIGRATION_LOCK = 0x4952_4C01  # "IRL" and 1: PostgreSQL's advisory lock for migrations
# SQLSTATEs besides class 08 (connection exception) that mean "try again later": the server is
# shutting down, crashed, or still starting.
_SERVER_GOING = frozenset({"57P01", "57P02", "57P03"})


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # A write-ahead log: one fsync a commit instead of the rollback journal's three and a file
    # made and deleted each time; readers (the web server) don't wait for a writer. FULL keeps
    # every commit on disk before it returns, as the outbox and the inbox need.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        # pre-ping: after the database restarted or the network was cut, a pooled connection is
        # replaced rather than failing the next unit of work.
        # A connection attempt to an unreachable server gives up after 10 s instead of
        # hanging; the caller's retry decides what then.
        connect_args = {"timeout": 10} if url.startswith("postgresql") else {}
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_pre_ping=True,
                                                       connect_args=connect_args)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back when it raises."""
        async with self.sessions() as session, session.begin():
            yield session

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to date with Alembic, on this engine's own connection. On
        PostgreSQL under a lock held until the commit: of two copies starting together, the
        second waits and then finds nothing left to do."""
        if self.dialect == "sqlite":
            # Alembic's batch mode rebuilds a SQLite table (copy, drop, rename) to change a
            # constraint; with foreign keys enforced, the drop would delete every row that
            # points at it (ON DELETE CASCADE). The pragma only works outside a transaction.
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                try:
                    await conn.run_sync(_upgrade, revision)
                    await conn.commit()
                finally:
                    await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            return
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": MIGRATION_LOCK})
            await conn.run_sync(_upgrade, revision)

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def database_unreachable(exc: BaseException) -> bool:
    """A lost or refused database connection (a restart, a network cut), as opposed to a bug:
    waiting and trying again may cure it."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | OSError
                  | TimeoutError | sa_exc.TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # asyncpg's "connection was closed in the middle of operation" reaches SQLAlchemy as a
    # plain DBAPIError, and is flagged invalidated only when the driver has already noticed
    # the closed socket: under load it sometimes hasn't. Its SQLSTATE says what it is.
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and (state.startswith("08") or state in _SERVER_GOING):
            return True
        cause = getattr(cause, "orig", None) or cause.__cause__
    return False


def changed_one_row(result: object) -> bool:
    """Whether a conditional UPDATE won its row (the claim only one process can make)."""
    return isinstance(result, CursorResult) and result.rowcount == 1
