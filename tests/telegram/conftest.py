"""Fixtures for the Telegram adapter: the fake Bot API, a recording stand-in core, and the
real python-telegram-bot Application wired between them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.adapters.telegram import FloodLimits, TelegramAdapter
from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.session import Database
from tests.telegram.fake_bot_api import FakeBotAPI, FakeLimits
from tests.telegram.tg_support import SCALE, RecordingCore, make_adapter


@pytest.fixture
def fake_limits() -> FakeLimits:
    return FakeLimits().scaled(SCALE)


@pytest.fixture
def client_limits() -> FloodLimits:
    return FloodLimits().scaled(SCALE)


@pytest.fixture
async def fake(fake_limits: FakeLimits) -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(limits=fake_limits) as api:
        yield api


@pytest.fixture
def core() -> RecordingCore:
    return RecordingCore()


@pytest.fixture
async def inbox_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite database for the adapter's inbox, where the core is a stand-in (the inbox
    on both databases: test_tg_inbox.py)."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}")
    await database.migrate()
    yield database
    await database.dispose()


@pytest.fixture
async def adapter(
    fake: FakeBotAPI, core: RecordingCore, client_limits: FloodLimits, inbox_db: Database
) -> AsyncIterator[TelegramAdapter]:
    tg = make_adapter(fake, client_limits, inbox_db)
    tg.bind(core)
    await tg.start()
    try:
        yield tg
    finally:
        await tg.stop()


@pytest.fixture
async def wired(
    fake: FakeBotAPI, db: Database, clock: VirtualClock, client_limits: FloodLimits
) -> AsyncIterator[tuple[TelegramAdapter, Core]]:
    adapter = make_adapter(fake, client_limits, db)
    real_core = Core(db, {"telegram": adapter.messenger}, clock, CoreSettings())
    adapter.bind(real_core)
    await adapter.start()
    try:
        yield adapter, real_core
    finally:
        await adapter.stop()


def pytest_configure(config: pytest.Config) -> None:
    # PTB's own RetryAfter constructor warns about its int -> timedelta change.
    config.addinivalue_line(
        "filterwarnings", "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
    )
