"""Building the adapter from the `[telegram]` settings, for `irlbot run`."""

from __future__ import annotations

from bot.adapters.telegram.adapter import TelegramAdapter
from bot.adapters.telegram.settings import TelegramSettings


def build_telegram(settings: TelegramSettings) -> TelegramAdapter:
    """The adapter, not yet bound: `adapter.bind(core)`, then `await adapter.start()` / `stop()`."""
    return TelegramAdapter(settings)
