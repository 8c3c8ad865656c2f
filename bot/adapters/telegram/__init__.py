"""Telegram adapter: python-telegram-bot 22 in, the core's Messenger port out.

The names below load on first use, so `bot.config` can import the settings module without
loading python-telegram-bot (`irlbot migrate` stays light)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from bot.adapters.telegram.settings import TelegramSettings

if TYPE_CHECKING:
    from bot.adapters.telegram.adapter import ALLOWED_UPDATES, CoreHandler, TelegramAdapter
    from bot.adapters.telegram.messenger import PollTooLarge, TelegramMessenger
    from bot.adapters.telegram.ratelimit import FloodLimits, Rate, TelegramRateLimiter

_LAZY = {
    "ALLOWED_UPDATES": "adapter",
    "CoreHandler": "adapter",
    "TelegramAdapter": "adapter",
    "PollTooLarge": "messenger",
    "TelegramMessenger": "messenger",
    "FloodLimits": "ratelimit",
    "Rate": "ratelimit",
    "TelegramRateLimiter": "ratelimit",
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)


__all__ = [
    "ALLOWED_UPDATES",
    "CoreHandler",
    "FloodLimits",
    "PollTooLarge",
    "Rate",
    "TelegramAdapter",
    "TelegramMessenger",
    "TelegramRateLimiter",
    "TelegramSettings",
]
