"""The command menu shown by Telegram clients (setMyCommands), in English and Dutch."""

from __future__ import annotations

from collections.abc import Collection

from telegram import BotCommand

_COMMANDS: list[tuple[str, str, str]] = [
    ("help", "What I can do, with examples", "Wat ik kan, met voorbeelden"),
    ("start", "Start me in a private chat to get reminders", "Start mij privé voor herinneringen"),
    ("setup", "Make this group a chapter (admins)", "Maak van deze groep een afdeling (beheerders)"),
    ("newmeetup", "Plan a meetup or a date poll", "Plan een meetup of een datumpoll"),
    ("poll", "Ask the chapter a question", "Stel de afdeling een vraag"),
    ("closepoll", "Close the open poll now", "Sluit de open poll nu"),
    ("meetups", "Upcoming meetups", "Komende meetups"),
    ("rsvp", "Say if you come: yes, maybe or no", "Zeg of je komt: ja, misschien of nee"),
    ("who", "Who is coming", "Wie er komt"),
    ("intro", "Your one-line introduction", "Jouw introductie in één regel"),
    ("next", "Tell me when the next one is announced", "Laat me weten als de volgende er is"),
    ("remind", "Your reminder times", "Jouw herinneringstijden"),
    ("ics", "The meetup as a calendar file", "De meetup als agendabestand"),
    ("cancel", "Cancel the meetup (organisers)", "Zeg de meetup af (organisatoren)"),
    ("recurring", "Repeat meetups by a rule (organisers)", "Herhaal meetups (organisatoren)"),
    ("checkin", "I am here", "Ik ben er"),
    ("stats", "Chapter statistics (organisers)", "Cijfers van de afdeling (organisatoren)"),
    ("language", "Language: nl or en", "Taal: nl of en"),
    ("link", "Run this chapter in another group too (organisers)",
     "Deze afdeling ook in een andere groep (organisatoren)"),
]


def bot_commands(language: str, known: Collection[str] | None = None) -> list[BotCommand]:
    """The menu in `language`, limited to the commands in `known` (what the core answers)."""
    column = 2 if language == "nl" else 1
    return [BotCommand(row[0], row[column]) for row in _COMMANDS if known is None or row[0] in known]
