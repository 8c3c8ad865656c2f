"""The command menu shown by Telegram clients (setMyCommands), from the core's command table."""

from __future__ import annotations

from telegram import BotCommand

from bot.core.commands import menu


def bot_commands(language: str) -> list[BotCommand]:
    """The menu in `language`: every command of the table that has a menu line."""
    return [BotCommand(name, description) for name, description in menu(language)]
