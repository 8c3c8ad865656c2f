"""The one translation function and locale-aware date formatting.

Texts are written in English in the code and wrapped in `_()`; a gettext catalog per language
(bot/locales/<lang>/LC_MESSAGES/messages.po) maps the English text to its translation. A
missing entry falls back to English. docs/translating.md tells translators how to add one.
"""

from __future__ import annotations

import functools
import io
from datetime import datetime, timedelta
from gettext import GNUTranslations, NullTranslations
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.lists import format_list

from bot.core.text import Tappable, defuse

LOCALES = Path(__file__).resolve().parents[1] / "locales"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"


def catalog_path(language: str, locales: Path | None = None) -> Path:
    return (locales or LOCALES) / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages_in(locales: Path) -> tuple[str, ...]:
    return tuple(sorted(p.name for p in locales.iterdir() if catalog_path(p.name, locales).is_file()))


# A language is supported when its catalog is there: adding a folder adds a language.
SUPPORTED_LANGUAGES = languages_in(LOCALES)


@functools.cache
def _translations(language: str) -> NullTranslations:
    """The language's .po file, compiled in memory on first use (no .mo files to build)."""
    path = catalog_path(language)
    if not path.is_file():
        return NullTranslations()
    # Babel's catalog reader, only when a language other than English is first used.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return GNUTranslations(mo)


def _fill(text: str, values: dict[str, object]) -> str:
    """The values are what members wrote (names, titles, venues, intros, their input
    echoed back) or what the bot made (numbers, dates, links): each is defused, so no
    "/cancel@bot" in a value becomes a command to tap (bot/core/text.py)."""
    if not values:
        return text
    return text.format(**{k: defuse(v) if isinstance(v, str) and not isinstance(v, Tappable)
                          else v for k, v in values.items()})


class PluralMsgid(str):
    """A singular msgid that carries its plural and count, so that `gettext` (and `_`) pick
    the right form: what `UserError.plural` puts in `err.message`."""

    plural: str
    n: int

    def __new__(cls, singular: str, plural: str, n: int) -> PluralMsgid:
        msgid = super().__new__(cls, singular)
        msgid.plural = plural
        msgid.n = n
        return msgid


def gettext(language: str, message: str, /, **values: object) -> str:
    """Translate `message` into `language` and fill in `{name}` placeholders."""
    if isinstance(message, PluralMsgid):
        return ngettext(language, str(message), message.plural, message.n, **values)
    return _fill(_translations(language).gettext(message), values)


def ngettext(language: str, singular: str, plural: str, n: int, /, **values: object) -> str:
    """The form for `n` in `language` (e.g. "1 seat" / "2 seats"); `{n}` is filled in too."""
    return _fill(_translations(language).ngettext(singular, plural, n), {"n": n, **values})


def pgettext(language: str, context: str, message: str, /, **values: object) -> str:
    """`message` as meant in `context`, for short texts with more than one meaning."""
    return _fill(_translations(language).pgettext(context, message), values)


def npgettext(language: str, context: str, singular: str, plural: str, n: int, /,
              **values: object) -> str:
    return _fill(_translations(language).npgettext(context, singular, plural, n),
                 {"n": n, **values})


def N_(message: str) -> str:
    """Marks a text for extraction where it is declared; translate it where it is shown."""
    return message


class Translate:
    """`_` bound to one language: `_(msgid)`, `_.n(singular, plural, n)`, `_.p(context, msgid)`
    and `_.np(context, singular, plural, n)`. The count is the `{n}` placeholder too, unless
    a value `n=` is passed (when another number in the text picks the form)."""

    __slots__ = ("language",)

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, message: str, /, **values: object) -> str:
        return gettext(self.language, message, **values)

    def n(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        return ngettext(self.language, singular, plural, n, **values)

    def p(self, context: str, message: str, /, **values: object) -> str:
        return pgettext(self.language, context, message, **values)

    def np(self, context: str, singular: str, plural: str, n: int, /, **values: object) -> str:
        return npgettext(self.language, context, singular, plural, n, **values)

    def __repr__(self) -> str:
        return f"Translate({self.language!r})"


def translator(language: str) -> Translate:
    return Translate(language)


def format_when(moment: datetime, timezone: str, language: str) -> str:
    """E.g. 'Thu 3 Dec 2026, 19:30' / 'do 3 dec. 2026, 19:30' in the given timezone."""
    local = moment.astimezone(ZoneInfo(timezone))
    return format_datetime(local, "EEE d MMM y, HH:mm", locale=language)


def format_span(start: datetime, end: datetime | None, timezone: str, language: str) -> str:
    """`format_when`, with the end's time when there is one: 'Thu 3 Dec 2026, 19:30–22:00'."""
    text = format_when(start, timezone, language)
    if end is None:
        return text
    return text + "–" + format_datetime(end.astimezone(ZoneInfo(timezone)), "HH:mm",
                                        locale=language)


def format_durations(minutes: list[int] | tuple[int, ...], language: str) -> str:
    """E.g. '1 day and 2 hours' / '1 dag en 2 uur'."""
    return format_list([format_duration(m, language) for m in minutes], locale=language)


def format_duration(minutes: int, language: str) -> str:
    """E.g. '1 day', '2 hours', '1 day 3 hours' / '1 dag', '2 uur' (Babel's words)."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    units: tuple[tuple[int, Literal["day", "hour", "minute"]], ...] = (
        (days, "day"), (hours, "hour"), (mins, "minute"))
    for amount, unit in units:
        if amount:
            parts.append(format_timedelta(timedelta(**{unit + "s": amount}), granularity=unit,
                                          threshold=10_000, locale=language))
    return " ".join(parts) or format_timedelta(timedelta(0), locale=language)
