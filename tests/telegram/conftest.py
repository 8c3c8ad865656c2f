"""Fixtures for the Telegram adapter: the fake Bot API, a recording stand-in core, and the
real python-telegram-bot Application wired between them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.adapters.telegram import FloodLimits, TelegramAdapter
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
async def adapter(
    fake: FakeBotAPI, core: RecordingCore, client_limits: FloodLimits
) -> AsyncIterator[TelegramAdapter]:
    tg = make_adapter(fake, client_limits)
    await tg.start(core)
    try:
        yield tg
    finally:
        await tg.stop()


def pytest_configure(config: pytest.Config) -> None:
    # PTB's own RetryAfter constructor warns about its int -> timedelta change.
    config.addinivalue_line(
        "filterwarnings", "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
    )
