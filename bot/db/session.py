"""The async engine and the unit of work. Built by the composition root, never at import."""

from __future__ import annotations

import ast
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
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

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"
MIGRATION_LOCK = 0x4952_4C01  # "IRL" and 1: PostgreSQL's advisory lock for migrations
# SQLSTATEs besides class 08 (connection exception) that mean "try again later": the server is
# shutting down, crashed, or still starting.
_SERVER_GOING = frozenset({"57P01", "57P02", "57P03"})
CONNECTIONS = 8  # a process's pool on PostgreSQL; [database] connections
AUTOCOMMIT = "autocommit"  # the asyncpg adapter's isolation_level when it begins none


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=0")  # locks are waited for in sqlite_driver
    # A write-ahead log: one fsync a commit instead of the rollback journal's three and a file
    # made and deleted each time; readers (the web server) don't wait for a writer. FULL keeps
    # every commit on disk before it returns, as the outbox and the inbox need.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _begin(dbapi_connection: Any, _record: object, _proxy: object) -> None:
    """Before each use of a pooled PostgreSQL connection: its transaction's BEGIN, sent at
    once, so that after the database restarted or the network was cut the connection is
    replaced (the pool tries a new one) rather than failing the unit of work. The BEGIN is
    the ping: the unit's first statement then finds its transaction open and sends none,
    one round trip a unit where a separate ping (SQLAlchemy's pre-ping: BEGIN, query,
    ROLLBACK; or a `SELECT 1`) and the BEGIN were two or four. A unit holds no snapshot or
    lock between this BEGIN and its first statement (READ COMMITTED takes a snapshot a
    statement). A connection set to autocommit has no transaction to begin: it is pinged."""
    try:
        if dbapi_connection._transaction is None and dbapi_connection.isolation_level != AUTOCOMMIT:
            dbapi_connection.run_async(lambda _driver: dbapi_connection._start_transaction())
        else:
            dbapi_connection.run_async(lambda driver: driver.execute("SELECT 1"))
    except Exception as exc:
        raise DisconnectionError(f"the pooled connection failed its BEGIN: {exc!r}") from exc


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, echo: bool = False, connections: int = CONNECTIONS) -> None:
        self.url = url
        options: dict[str, Any] = {}
        if url.startswith("postgresql"):
            # A connection attempt to an unreachable server gives up after 10 s instead of
            # hanging; the caller's retry decides what then.
            options["connect_args"] = {"timeout": 10}
            # `connections` are kept open and no more are opened: under a burst a unit of work
            # waits for one (no unit holds two). SQLAlchemy's default opened up to ten more
            # for a burst and closed each after use; near the machine's limit that churn (a
            # new server process, every statement prepared again) cost more than the burst.
            options["pool_size"], options["max_overflow"] = connections, 0
        elif url.startswith("sqlite+aiosqlite"):
            from bot.db.sqlite_driver import sqlite_dbapi

            # A file has no server that restarts: no ping before each unit of work.
            options = {"module": sqlite_dbapi()}
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, **options)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            event.listen(self.engine.sync_engine, "checkout", _begin)
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
        second waits and then finds nothing left to do.

        A schema already at the head (every start but the first after an upgrade) is seen
        with one query, without loading Alembic (about 11 MiB and a quarter of a second)."""
        if revision == "head" and await self.at_head():
            return
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

    async def at_head(self) -> bool:
        """Whether the database's alembic_version is the migrations' head."""
        heads = head_revisions()
        if heads is None:
            return False
        async with self.engine.connect() as conn:
            return await conn.run_sync(_current_revisions) == heads

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.M)


def head_revisions(versions: Path | None = None) -> frozenset[str] | None:
    """The revisions no other migration revises, read from the files' `revision = ...` and
    `down_revision = ...` lines the way Alembic does, without loading it; None when a file
    is not written that way (then Alembic itself decides)."""
    revised: set[str] = set()
    revisions: set[str] = set()
    for path in sorted((versions or MIGRATIONS_DIR / "versions").glob("*.py")):
        found: dict[str, object] = {}
        for name, value in _ASSIGNMENT.findall(path.read_text(encoding="utf-8")):
            try:
                found[name] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                return None
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str):
            return None
        if down is None:
            downs: tuple[str, ...] = ()
        elif isinstance(down, str):
            downs = (down,)
        elif isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
            downs = tuple(down)
        else:
            return None
        revisions.add(revision)
        revised.update(downs)
    heads = frozenset(revisions - revised)
    return heads or None


def _current_revisions(connection: Connection) -> frozenset[str]:
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    return frozenset(connection.execute(text("SELECT version_num FROM alembic_version"))
                     .scalars())


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
