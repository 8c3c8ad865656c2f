"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL when it runs), the core
wired to a recording messenger and a virtual clock."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger

PG_HOST = os.environ.get("IRL_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("IRL_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("IRL_TEST_PG_USER", "postgres")
REQUIRE_PG = os.environ.get("IRL_REQUIRE_POSTGRES") == "1"

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


async def _pg_admin():
    import asyncpg

    return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres",
                                 timeout=5)


_pg_checked: dict[str, str | None] = {}


def postgres_unavailable() -> str | None:
    """None when PostgreSQL answers, else the reason (checked once per run)."""
    if "reason" not in _pg_checked:
        async def probe() -> str | None:
            try:
                conn = await _pg_admin()
            except Exception as exc:
                return f"PostgreSQL at {PG_HOST}:{PG_PORT} is not reachable ({exc!r})"
            await conn.close()
            return None
        _pg_checked["reason"] = asyncio.run(probe()) if _no_loop() else None
    return _pg_checked["reason"]


def _no_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return True
    return False


def skip_or_fail_without_postgres() -> None:
    reason = postgres_unavailable()
    if reason is None:
        return
    if REQUIRE_PG:
        pytest.fail(f"IRL_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A URL of a fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'irl.db'}"
    skip_or_fail_without_postgres()
    name = f"irl_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await _pg_admin()
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    async def drop() -> None:
        conn = await _pg_admin()
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(create())
    request.addfinalizer(lambda: asyncio.run(drop()))
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.migrate()
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def messenger() -> RecordingMessenger:
    return RecordingMessenger()


@pytest.fixture
def core(db: Database, messenger: RecordingMessenger, clock: VirtualClock) -> Core:
    return Core(db, {messenger.platform: messenger}, clock, CoreSettings())


@pytest.fixture
def chat(core: Core, messenger: RecordingMessenger, clock: VirtualClock) -> Chat:
    return Chat(core, messenger, clock)
