"""The command menu shown by Telegram clients (setMyCommands), in each catalog's language."""

from __future__ import annotations

from collections.abc import Collection

from telegram import BotCommand

from bot.core.i18n import N_, translator

_COMMANDS: list[tuple[str, str]] = [
    # TRANSLATORS: this and the next ones are Telegram's command menu: a few words each.
    ("help", N_("What I can do, with examples")),
    ("start", N_("Start me in a private chat to get reminders")),
    ("setup", N_("Make this group a chapter (admins)")),
    ("newmeetup", N_("Plan a meetup or a date poll")),
    ("poll", N_("Ask the chapter a question")),
    ("closepoll", N_("Close the open poll now")),
    ("meetups", N_("Upcoming meetups")),
    ("rsvp", N_("Say if you come: yes, maybe or no")),
    ("who", N_("Who is coming")),
    ("intro", N_("Your one-line introduction")),
    ("next", N_("Tell me when the next one is announced")),
    ("remind", N_("Your reminder times")),
    ("ics", N_("The meetup as a calendar file")),
    ("cancel", N_("Cancel the meetup (organisers)")),
    ("recurring", N_("Repeat meetups by a rule (organisers)")),
    ("checkin", N_("I am here")),
    ("stats", N_("Chapter statistics (organisers)")),
    ("language", N_("Language: nl or en")),
    ("link", N_("Run this chapter in another group too (organisers)")),
]


def bot_commands(language: str, known: Collection[str] | None = None) -> list[BotCommand]:
    """The menu in `language`, limited to the commands in `known` (what the core answers)."""
    _ = translator(language)
    return [BotCommand(name, _(text)) for name, text in _COMMANDS if known is None or name in known]
