"""People's text, in and out: numbers read as ASCII digits with a bound, text that must show
something, control characters dropped, and text shown back that can't form a command.

Pure functions, no imports from the rest of the core (i18n uses `defuse` on every value it
fills in)."""

from __future__ import annotations

import re
import unicodedata

# Characters that draw nothing although Unicode calls them letters or symbols: the Hangul
# fillers, the Braille blank, the Mongolian vowel separator, Khmer inherent vowels.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u17b4\u17b5")
# Categories that show nothing on their own: controls, format characters (zero-width
# spaces and joiners, bidi marks, tags), surrogates, private use, unassigned, separators,
# and combining marks with nothing to combine with.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})
# Bidi embeddings, overrides and isolates: in a name they would turn the rest of the bot's
# line around. (The marks LRM/RLM only affect their neighbours, and stay.)
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# C0/C1 controls but tab and newline; PostgreSQL can't even store NUL.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Where Telegram sees a bot command: "/" at the start or after a character that is not a
# letter, digit, "_", "/", "<", ">" or "\", followed by an ASCII letter, digit or "_"
# (tdlib's find_bot_commands). A WORD JOINER (U+2060, zero width) after such a "/" breaks
# the command and changes nothing people can see.
_COMMAND_START = re.compile(r"(?<![\w/<>\\])/(?=[A-Za-z0-9_])")
WORD_JOINER = "\u2060"

MAX_NAME_SHOWN = 64


def number(text: str, low: int, high: int) -> int | None:
    """`text` as a whole number from `low` to `high`, written in ASCII digits; else None.
    The length is checked before `int()`: 4,301 digits would make it raise, and "²" or
    "٣" are digits to `str.isdigit` but not what a member means by a number here."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    if len(text.lstrip("0")) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None


def visible(text: str) -> bool:
    """True when `text` draws at least one character."""
    return any(ch not in _BLANK_LOOKING and unicodedata.category(ch) not in _INVISIBLE
               for ch in text)


def scrub(text: str) -> str:
    """Incoming text without control characters (tab and newline stay)."""
    return _CONTROLS.sub("", text)


def one_line(text: str) -> str:
    """A title, venue, name or intro as it is kept: on one line, runs of white space made one
    space, control characters and bidi overrides gone."""
    return " ".join(_BIDI_CONTROLS.sub("", scrub(text)).split())


class Tappable(str):
    """A command the bot itself offers ("send /cancel yes"): filled into a message as it is,
    not defused. Whatever part of it a member wrote is defused when it is made."""

    __slots__ = ()


def tappable(command: str, args: str = "") -> Tappable:
    """`/command args`, the args defused."""
    return Tappable(" ".join(part for part in (f"/{command}", defuse(args)) if part))


def defuse(text: str) -> str:
    """Text from a member, shown back by the bot: no "/name" in it can be tapped as a
    command on Telegram (a zero-width WORD JOINER follows each "/" that would start one;
    Matrix's "!name" rewrite skips them too), and no bidi override turns the bot's line
    around. Idempotent."""
    return _COMMAND_START.sub("/" + WORD_JOINER, _BIDI_CONTROLS.sub("", text))


def shown_name(name: str, fallback: str) -> str:
    """A platform display name as the bot shows it: one line, at most MAX_NAME_SHOWN
    characters, and `fallback` (the account id) when it shows nothing."""
    line = one_line(name)
    if not visible(line):
        line = one_line(fallback)
    if len(line) > MAX_NAME_SHOWN:
        line = line[: MAX_NAME_SHOWN - 1] + "…"
    return line
