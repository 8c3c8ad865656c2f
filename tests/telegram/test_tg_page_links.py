"""The meetup pages' "answer in the chat" link names the bot: the adapter stores its @name
(from getMe) where the web server reads it."""

from __future__ import annotations

from bot.adapters.telegram import FloodLimits
from bot.db.session import Database
from bot.db.state import load_state
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_support import RecordingCore, make_adapter


async def test_the_adapter_stores_the_bots_username_at_start(
    fake: FakeBotAPI, db: Database, client_limits: FloodLimits
) -> None:
    assert await load_state(db, "telegram", "username") is None
    adapter = make_adapter(fake, client_limits, db)
    adapter.bind(RecordingCore())
    await adapter.start()
    try:
        assert await load_state(db, "telegram", "username") == "irl_test_bot"
    finally:
        await adapter.stop()
