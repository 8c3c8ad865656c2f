"""Building the adapter from the `[telegram]` config section, for `irlbot run`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.adapters.telegram.adapter import CoreHandler, TelegramAdapter
from bot.adapters.telegram.settings import TelegramSettings

if TYPE_CHECKING:
    from bot.config import TelegramConfig


def settings_from_config(cfg: TelegramConfig) -> TelegramSettings:
    return TelegramSettings(
        token=cfg.token,
        base_url=cfg.base_url,
        mode=cfg.mode,
        webhook_url=cfg.webhook_url,
        listen=cfg.listen,
        port=cfg.port,
        secret_token=cfg.secret_token,
    )


def build_telegram(cfg: TelegramConfig, core: CoreHandler) -> TelegramAdapter:
    """The adapter bound to the core; `await adapter.start()` / `stop()` run it."""
    return TelegramAdapter(settings_from_config(cfg), core)
