"""Reading `<when>` in natural language (Dutch and English) in a chapter's timezone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.errors import UserError
from bot.core.i18n import format_when
from bot.core.time_of_day import TimeOfDay, missing_hour, read_time_of_day

# "volgende vrijdag", "deze vrijdag": the coming Friday, as "vrijdag" is (dateparser reads
# neither).
_NEXT_WEEKDAY = re.compile(r"\b(eerstvolgende|volgende|komende|aanstaande|deze|coming)\s+(?=\w)",
                           re.I)
_ISO_T = re.compile(r"(?<=\d)T(?=\d)", re.A)  # 2027-03-12T19:00
_SLASHED = re.compile(r"(?<![\d/-])(\d{1,2})/(\d{1,2})(?:/(?:\d{4}|\d{2}))?(?![\d/])", re.A)
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.A)

MAX_WHEN_LENGTH = 60
MAX_OFFSETS = 5


@dataclass(frozen=True)
class When:
    text: str
    at: datetime  # UTC


def parse_when(text: str, *, timezone: str, language: str, now: datetime) -> When:
    """Read one `<when>`; raises UserError when it is unreadable, ambiguous or in the past."""
    raw = text.strip()
    if not raw:
        raise UserError("A date is missing. Write it like: thursday 19:30 or 2027-03-12 19:00")
    if len(raw) > MAX_WHEN_LENGTH:
        raise UserError("I can't read “{text}” as a date and time. Write it like: "
                        "thursday 19:30 or 2027-03-12 19:00", text=raw[:MAX_WHEN_LENGTH] + "…")
    if any(ch.isdigit() and not ch.isascii() for ch in raw):  # "²", "٣": not our digits
        raise UserError("I can't read “{text}” as a date and time. Write it like: "
                        "thursday 19:30 or 2027-03-12 19:00", text=raw)
    tz = ZoneInfo(timezone)
    base = now.astimezone(tz).replace(tzinfo=None)
    settings = {
        "TIMEZONE": timezone,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": base,
        "DATE_ORDER": "DMY",
    }
    # The time of day is read by the rule /recurring uses; dateparser reads the date, with the
    # time written back as HH:MM (it reads "20 uur" as 20 hours from now).
    reading = read_time_of_day(_ISO_T.sub(" ", raw))
    if reading.time is None and reading.part is not None:
        raise missing_hour(raw, reading.part)
    cleaned = _NEXT_WEEKDAY.sub("", reading.rest)
    if reading.time is not None:
        cleaned = f"{cleaned} {reading.time}"
    parsed = _iso(reading.rest, reading.time, tz)
    if parsed is None:
        parsed = _natural(cleaned, language, settings)
    if parsed is None:
        raise UserError("I can't read “{text}” as a date and time. Write it like: "
                        "thursday 19:30 or 2027-03-12 19:00", text=raw)
    at = parsed.astimezone(UTC)
    shown = format_when(at, timezone, language)
    if reading.time is None:
        raise UserError("“{text}” has no time of day; I read it as {shown}. "
                        "Add a time, like: {text} 19:30", text=raw, shown=shown)
    if (parsed.hour, parsed.minute) != (reading.time.hour, reading.time.minute):
        raise UserError("I can't read “{text}” as a date and time. Write it like: "
                        "thursday 19:30 or 2027-03-12 19:00", text=raw)
    slashed = _SLASHED.search(raw)
    if slashed and language == "en":
        a, b = int(slashed.group(1)), int(slashed.group(2))
        if a != b and a <= 12 and b <= 12:
            raise UserError("“{text}” is ambiguous (day/month or month/day?); I read it as "
                            "{shown}. Write the month as a word or use 2027-03-12 19:00.",
                            text=raw, shown=shown)
    if parsed.replace(tzinfo=None) != at.astimezone(tz).replace(tzinfo=None):
        raise UserError("“{text}” doesn't exist: the clocks go forward that night. I read it "
                        "as {shown}; write that time if you mean it.", text=raw, shown=shown)
    if at <= now:
        raise UserError("“{text}” is in the past: I read it as {shown}.", text=raw, shown=shown)
    if at > now + timedelta(days=3 * 365):
        raise UserError("“{text}” is too far ahead: I read it as {shown}.", text=raw, shown=shown)
    return When(raw, at)


def _iso(rest: str, time: TimeOfDay | None, tz: ZoneInfo) -> datetime | None:
    """`2027-03-12 19:00` as dateparser reads it (a time that happens twice when the clocks go
    back is the second; one they skip is moved on by the gap, and refused by the caller), without
    loading dateparser; None for anything else."""
    if time is None or not _ISO_DATE.fullmatch(rest):
        return None
    try:
        day = date.fromisoformat(rest)
    except ValueError:
        return None  # 2027-02-30: dateparser says what it makes of it
    local = datetime(day.year, day.month, day.day, time.hour, time.minute, tzinfo=tz, fold=1)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        local = local.replace(fold=0)  # skipped by the clocks: moved on by the gap, as dateparser
    return local


def _natural(text: str, language: str, settings: dict[str, Any]) -> datetime | None:
    # Loaded on the first date that isn't ISO, not at start: dateparser and its patterns are
    # some 8 MiB that a bot whose organisers write 2027-03-12 19:00 never needs.
    import dateparser

    other = "en" if language != "en" else "nl"
    for languages in ([language], [other]):
        parsed: datetime | None = dateparser.parse(text, languages=languages, settings=settings)
        if parsed is not None:
            return parsed
    return None


# ASCII digits only, at most five to a number: 30 days is 43200 minutes.
_OFFSET = re.compile(r"(\d{1,5})\s*([dhm])", re.I | re.A)
_OFFSET_TOKEN = re.compile(r"^(\d{1,5}\s*[dhm])+$", re.I | re.A)
MAX_OFFSET_PARTS = 3


def parse_offsets(text: str) -> list[int]:
    """'1d 2h' / '2d3h30m' -> minutes before the meetup, largest first."""
    tokens = text.replace(",", " ").split()
    if len(tokens) > 4 * MAX_OFFSETS:
        raise UserError("At most {max} reminder times, please.", max=MAX_OFFSETS)
    if not tokens:
        raise UserError("Write reminder times like: 1d 2h (or off)")
    minutes: set[int] = set()
    for token in tokens:
        if not _OFFSET_TOKEN.match(token) or len(_OFFSET.findall(token)) > MAX_OFFSET_PARTS:
            raise UserError("I can't read “{text}” as a reminder time. Write it like: 1d 2h 30m",
                            text=token[:40])
        total = 0
        for amount, unit in _OFFSET.findall(token):
            total += int(amount) * {"d": 1440, "h": 60, "m": 1}[unit.lower()]
        if total <= 0 or total > 30 * 1440:
            raise UserError("A reminder time must lie between 1 minute and 30 days before the meetup.")
        minutes.add(total)
    if len(minutes) > MAX_OFFSETS:
        raise UserError("At most {max} reminder times, please.", max=MAX_OFFSETS)
    return sorted(minutes, reverse=True)


def parse_duration(text: str) -> timedelta:
    """For the demo's `:advance 2d3h30m`."""
    token = text.replace(" ", "")
    if not token or not _OFFSET_TOKEN.match(token):
        raise ValueError(f"can't read duration {text!r}")
    total = sum(int(a) * {"d": 1440, "h": 60, "m": 1}[u.lower()] for a, u in _OFFSET.findall(token))
    return timedelta(minutes=total)
