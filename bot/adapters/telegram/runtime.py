"""Building the adapter from the `[telegram]` settings, for `irlbot run`."""

from __future__ import annotations

from bot.adapters.telegram.adapter import TelegramAdapter
from bot.adapters.telegram.settings import TelegramSettings
from bot.db.session import Database


def build_telegram(settings: TelegramSettings, db: Database) -> TelegramAdapter:
    """The adapter, not yet bound: `adapter.bind(core)`, then `await adapter.start()` / `stop()`.
    Its updates go through the inbox table of `db`."""
    return TelegramAdapter(settings, db)
