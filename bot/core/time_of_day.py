"""The time of day in what members type, Dutch and English: one rule for the dates of /newmeetup
(bot/core/dates.py) and the rules of /recurring (bot/core/recurring.py).

Written clocks are 24-hour: 19:30, 19.30, 20.00 uur, 19u, 19u30, 19h30, noon. `7:30pm` and
`7 pm` are 12-hour. A spoken hour, `8 uur`, from 1 to 11 could be morning or evening and is
asked about. A part of the day (`avond`, `'s avonds`, `evening`, `vrijdagavond`, `tonight`)
places a 12-hour reading in it (`8 uur 's avonds`, `evening 7:30`: 20:00, 19:30) and must
agree with a 24-hour one; without any hour it says too little. The rules: docs/decisions.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.errors import UserError

# The hours (as a 24-hour clock shows them) each part of the day stands for. Each is shorter
# than 12 hours, so of the two readings of "8" at most one lies in it.
PARTS: dict[str, range] = {
    "morning": range(5, 12),
    "afternoon": range(12, 19),
    "evening": range(17, 24),
}
EXAMPLE_HOUR = {"morning": "10:00", "afternoon": "15:00", "evening": "20:00"}

_PART_WORDS = {
    "ochtend": "morning", "morgen": "morning", "morning": "morning",
    "middag": "afternoon", "afternoon": "afternoon",
    "avond": "evening", "evening": "evening", "night": "evening",
}

# vrijdagavond, morgenavond, overmorgenmiddag, zondagmorgen, vanavond: the day, then the part.
_COMPOUND = re.compile(
    r"\b(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|overmorgen|morgen|van)"
    r"(ochtend|morgen|middag|avond)\b", re.I)
_TODAY_PART = re.compile(r"\btonight\b|\bthis\s+(?=(?:morning|afternoon|evening)\b)", re.I)

# 's avonds, savonds, ’s middags, 's morgens, (in the) evening, avond, friday night.
_PART = re.compile(
    r"(?<!\w)(?:['’‘`]?s\s*)(avond|middag|ochtend|morgen)s\b"
    r"|(?<!\w)(avond|middag|ochtend)s?\b"
    r"|(?<!\w)(?:in\s+the\s+)?(morning|afternoon|evening|night)\b", re.I)

# The clocks, by how they are written. None matches inside another (12.03 of 12.03.2027 isn't
# a clock, nor 30pm of 7:30pm).
_NOT_AFTER = r"(?<![\w.:/-])"
_AM_PM = r"(?P<half>[ap])\.?m\b\.?"
_CLOCKS = {
    "24h": re.compile(_NOT_AFTER + r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?![\d.:])"
                      r"(?:\s*" + _AM_PM + r")?(?:\s*uur\b)?", re.I | re.A),  # 19:30, 20.00 uur
    "24h short": re.compile(_NOT_AFTER + r"(?P<hour>\d{1,2})[uh](?P<minute>\d{2})?\b",
                            re.I | re.A),  # 19u, 19u30, 19h30
    "12h": re.compile(_NOT_AFTER + r"(?P<hour>\d{1,2})\s*" + _AM_PM, re.I | re.A),  # 7pm, 7 p.m.
    "spoken": re.compile(_NOT_AFTER + r"(?P<hour>\d{1,2})\s*uur\b", re.I | re.A),  # 8 uur
    "noon": re.compile(r"\b(?:noon|midday)\b", re.I),
}

_BARE_NUMBER_AT_END = re.compile(r"\s+\d{1,2}$", re.A)


@dataclass(frozen=True)
class TimeOfDay:
    hour: int
    minute: int

    def __str__(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


@dataclass(frozen=True)
class Reading:
    """What `read_time_of_day` found: the time (None when no hour is written), the part of the
    day named (None when none), and the text left without them, a compound like
    `vrijdagavond` left as its day (`vrijdag`)."""

    time: TimeOfDay | None
    part: str | None
    rest: str


def split_day_parts(text: str) -> str:
    """`vrijdagavond` -> `vrijdag avond`, `vanavond` -> `vandaag avond`, `tonight` -> `today
    evening`; `zondagmorgen` is a morning (`morgen` alone is tomorrow)."""
    def split(found: re.Match[str]) -> str:
        day = "vandaag" if found.group(1).lower() == "van" else found.group(1)
        part = "ochtend" if found.group(2).lower() == "morgen" else found.group(2)
        return f"{day} {part}"

    text = _COMPOUND.sub(split, text)
    return _TODAY_PART.sub(lambda m: "today evening" if m.group(0).lower() == "tonight"
                           else "today ", text)


def unreadable_time(text: str) -> UserError:
    return UserError("“{text}” isn't a time I can read. Write it like 19:30, 19.30 or 7:30pm.",
                     text=text[:40])


def missing_hour(text: str, part: str) -> UserError:
    """`vrijdagavond`, `friday evening`: the part of the day without its hour."""
    said = _BARE_NUMBER_AT_END.sub("", text[:60])  # "saturday afternoon 3": not an hour
    example = said + " " + EXAMPLE_HOUR[part]
    return UserError("“{text}” needs an hour too. Write it like: {example}", text=text[:60],
                     example=example)


def read_time_of_day(text: str) -> Reading:
    """Find the time of day in `text`; raises UserError when it is impossible (25:00), says two
    times, doesn't fit the part of the day named, or is a spoken `8 uur` without one."""
    said = text
    text = split_day_parts(text)
    parts = {_PART_WORDS[next(g for g in m.groups() if g).lower()] for m in _PART.finditer(text)}
    if len(parts) > 1:
        raise UserError("“{text}” names two parts of the day. Write one, like: friday 20:00",
                        text=said[:60])
    part = next(iter(parts), None)
    clocks = [(kind, found) for kind, clock in _CLOCKS.items() for found in clock.finditer(text)]
    for _kind, found in sorted(clocks, key=lambda clock: clock[1].start(), reverse=True):
        text = text[:found.start()] + " " + text[found.end():]
    rest = " ".join(_PART.sub(" ", text).split())
    if not clocks:
        return Reading(None, part, rest)
    if len(clocks) > 1:
        raise UserError("“{text}” has two times of day. Write one, like: friday 20:00",
                        text=said[:60])
    kind, found = clocks[0]
    numbers = found.groupdict()
    hour = int(numbers.get("hour") or 12)  # noon
    minute = int(numbers.get("minute") or 0)
    half = (numbers.get("half") or "").lower()
    if minute > 59 or hour > 23 or (half and not 1 <= hour <= 12):
        raise unreadable_time(found.group(0).strip())
    if half:
        hour = hour % 12 + (12 if half == "p" else 0)
    if part is not None:
        hours = PARTS[part]
        if half or hour > 12:
            readings = [hour]
        else:  # 8 in the evening is 20, 12 in the afternoon is 12
            readings = [hour % 12, hour % 12 + 12]
        fitting = [h for h in readings if h in hours]
        if not fitting:
            raise UserError("In “{text}” the time and the part of the day don't go together. "
                            "Write the time alone, like 20:00.", text=said[:60])
        hour = fitting[0]
    elif kind == "spoken" and 1 <= hour <= 11:
        morning, evening = TimeOfDay(hour, minute), TimeOfDay(hour + 12, minute)
        raise UserError("Is “{text}” {morning} or {evening}? Write {evening} or {morning}.",
                        text=found.group(0).strip(), morning=str(morning),
                        evening=str(evening))
    return Reading(TimeOfDay(hour, minute), part, rest)
