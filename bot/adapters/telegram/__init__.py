"""Telegram adapter: python-telegram-bot 22 in, the core's Messenger port out."""

from bot.adapters.telegram.adapter import ALLOWED_UPDATES, CoreHandler, TelegramAdapter
from bot.adapters.telegram.messenger import PollTooLarge, TelegramMessenger
from bot.adapters.telegram.ratelimit import FloodLimits, Rate, TelegramRateLimiter
from bot.adapters.telegram.settings import TelegramSettings

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
