"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL when it runs), the core
wired to a recording messenger and a virtual clock."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

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


class Templates:
    """A database migrated once per test process, copied for each test that asks for `db`:
    migrating costs about half a second a test, a copy a few ms (SQLite: the file; PostgreSQL:
    CREATE DATABASE ... TEMPLATE). Tests that take `db_url` alone get an empty database."""

    def __init__(self) -> None:
        self.sqlite: Path | None = None
        self.postgres: str | None = None

    def sqlite_copy(self, to: Path) -> None:
        if self.sqlite is None:
            folder = Path(tempfile.mkdtemp(prefix="irl-template-"))
            url = f"sqlite+aiosqlite:///{folder / 'irl.db'}"
            asyncio.run(_migrated(url))
            self.sqlite = folder / "irl.db"
        shutil.copyfile(self.sqlite, to)

    def postgres_template(self) -> str:
        if self.postgres is None:
            name = f"irl_template_{uuid.uuid4().hex[:12]}"
            asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
            asyncio.run(_migrated(f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"))
            self.postgres = name
        return self.postgres

    def remove(self) -> None:
        if self.sqlite is not None:
            shutil.rmtree(self.sqlite.parent, ignore_errors=True)
        if self.postgres is not None:
            asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{self.postgres}" WITH (FORCE)'))


TEMPLATES = Templates()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked `long` first: with `-n 2 --dist worksteal` each worker starts on its
    share of them and the short ones fill in around them, instead of a long test starting
    last while the other worker idles."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    TEMPLATES.remove()


async def _migrated(url: str) -> None:
    database = Database(url)
    try:
        await database.migrate()
    finally:
        await database.dispose()


async def _pg_execute(statement: str) -> None:
    conn = await _pg_admin()
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A URL of a fresh database of each kind: migrated when the test also takes `db`, empty
    otherwise."""
    migrated = "db" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "irl.db"
        if migrated:
            TEMPLATES.sqlite_copy(path)
        return f"sqlite+aiosqlite:///{path}"
    skip_or_fail_without_postgres()
    name = f"irl_test_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{TEMPLATES.postgres_template()}"' if migrated else ""
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"{template}'))
    request.addfinalizer(
        lambda: asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """The database at `db_url`, migrated (a copy of the process's template)."""
    database = Database(db_url)
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
