"""The one translation function and locale-aware date formatting.

Texts are written in English in the code and wrapped in `_()`; a catalog per language maps
the English text to its translation (gettext style: a missing entry falls back to English).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.lists import format_list

SUPPORTED_LANGUAGES = ("en", "nl")
DEFAULT_LANGUAGE = "en"

_CATALOGS: dict[str, dict[str, str]] = {"en": {}}


def register_catalog(language: str, catalog: dict[str, str]) -> None:
    _CATALOGS[language] = catalog


def gettext(language: str, message: str, /, **values: object) -> str:
    """Translate `message` into `language` and fill in `{name}` placeholders."""
    text = _CATALOGS.get(language, {}).get(message, message)
    return text.format(**values) if values else text


Translate = Callable[..., str]


def translator(language: str) -> Translate:
    def _(message: str, /, **values: object) -> str:
        return gettext(language, message, **values)

    return _


def format_when(moment: datetime, timezone: str, language: str) -> str:
    """E.g. 'Thu 3 Dec 2026, 19:30' / 'do 3 dec. 2026, 19:30' in the given timezone."""
    local = moment.astimezone(ZoneInfo(timezone))
    return format_datetime(local, "EEE d MMM y, HH:mm", locale=language)


def format_durations(minutes: list[int] | tuple[int, ...], language: str) -> str:
    """E.g. '1 day and 2 hours' / '1 dag en 2 uur'."""
    return format_list([format_duration(m, language) for m in minutes], locale=language)


def format_duration(minutes: int, language: str) -> str:
    """E.g. '1 day', '2 hours', '1 day 3 hours' / '1 dag', '2 uur' (Babel's words)."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    for amount, unit in ((days, "day"), (hours, "hour"), (mins, "minute")):
        if amount:
            parts.append(format_timedelta(timedelta(**{unit + "s": amount}), granularity=unit,
                                          threshold=10_000, locale=language))
    return " ".join(parts) or format_timedelta(timedelta(0), locale=language)


def N_(message: str) -> str:
    """Marks a msgid declared ahead of its use (a table); translate it where it is shown."""
    return message


from bot.core.locales.nl import CATALOG as _NL_CATALOG  # noqa: E402

register_catalog("nl", _NL_CATALOG)
