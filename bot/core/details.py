"""A meetup's details as organisers type them: the title, then after the date, in any order,
the venue, `max N` seats, `about …`, `ends 22:00`, an online link and a #hashtag."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.core.errors import UserError
from bot.core.i18n import N_
from bot.core.text import number, one_line, visible
from bot.core.time_of_day import read_time_of_day

MAX_TITLE = 200
MAX_VENUE = 200
MAX_CAPACITY = 100_000
MAX_ABOUT = 1000
MAX_LINK = 500
MAX_HASHTAG = 100
# `about …` / `over …`, `ends 22:00` / `tot 22:00` / `eindigt 22u`: the word, then the value.
_ABOUT = re.compile(r"^(?:about|over)\s*[:]?\s+(?P<text>.+)$", re.I | re.S)
_ENDS = re.compile(r"^(?:ends?|until|tot|eindigt)\s*[:]?\s+(?P<text>.+)$", re.I)
_HASHTAG = re.compile(r"^#(?=\w*[^\W\d_])\w+$")


@dataclass(frozen=True)
class Details:
    """What an organiser said about a meetup besides its title and date."""

    venue: str | None = None
    capacity: int | None = None
    about: str | None = None
    ends: time | None = None  # a wall-clock time in the chapter's timezone
    link: str | None = None
    hashtag: str | None = None
_MAX = re.compile(r"^max\s*(\d{1,9})$", re.I | re.A)
# "max ²", "max ９", "max 1111…": meant as seats, not a venue ("Max Euwe Centrum" is one).
_MAX_LIKE = re.compile(r"^max\s*(\S+)$", re.I)


def _bad_capacity(text: str) -> bool:
    found = _MAX_LIKE.match(text)
    return found is not None and any(ch.isnumeric() for ch in found.group(1))


def is_capacity(text: str) -> bool:
    """`max 40`: a seat limit rather than a title or a venue."""
    return _MAX.match(text) is not None


def check_title(title: str) -> str:
    title = one_line(title)
    if not visible(title):
        raise UserError("The meetup needs a title, e.g. /newmeetup Tweetup #1; thursday 19:30")
    if len(title) > MAX_TITLE:
        raise UserError("That title is {n} characters long; keep it under {max}.",
                        n=len(title), max=MAX_TITLE)
    return title


def _shown_line(text: str, limit: int, empty: UserError, too_long: str) -> str:
    """Text kept on one line: refused with `empty` when it shows nothing, with `too_long`
    (a msgid with {n} and {max}) past `limit` characters."""
    line = one_line(text)
    if not visible(line):
        raise empty
    if len(line) > limit:
        raise UserError(too_long, n=len(line), max=limit)
    return line


def check_venue(text: str) -> str:
    return _shown_line(text, MAX_VENUE, UserError(
        "The venue has no letters or digits I can show. Write it like: Verkadefabriek"),
        N_("The venue is {n} characters long; keep it under {max}."))


def read_capacity(text: str) -> int:
    """`40`: a number of seats from 1 to MAX_CAPACITY."""
    capacity = number(text.strip(), 1, MAX_CAPACITY)
    if capacity is None:
        raise UserError("After max, write a number of seats from 1 to {max}.", max=MAX_CAPACITY)
    return capacity


def check_about(text: str) -> str:
    return _shown_line(text, MAX_ABOUT, UserError(
        "Write what the meetup is about after the word, e.g. about Short talks and drinks"),
        N_("The description is {n} characters long; keep it under {max}."))


def read_end(text: str) -> time:
    """`22:00`, `22.30`, `22u`, `23 uur`, `11pm`: the time the meetup ends, read by the rule
    of /newmeetup's dates (bot/core/time_of_day.py); a bare `22` is an hour."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 2:
        text += " uur"
    reading = read_time_of_day(text)
    if reading.time is None or reading.rest:
        raise UserError("Write the end time like: ends 22:00")
    return time(reading.time.hour, reading.time.minute)


def check_link(text: str) -> str:
    link = text.strip()
    parts = urlsplit(link) if link.isascii() else None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.netloc
            or any(ch.isspace() for ch in link)):
        raise UserError("Write the online link in full, like https://meet.jit.si/tweetup")
    if len(link) > MAX_LINK:
        raise UserError("That link is {n} characters long; keep it under {max}.",
                        n=len(link), max=MAX_LINK)
    return link


def check_hashtag(text: str) -> str:
    tag = text.strip()
    if not _HASHTAG.match(tag):
        raise UserError("Write the hashtag like #tweetupdb: a # and letters or digits.")
    if len(tag) > MAX_HASHTAG:
        raise UserError("That hashtag is {n} characters long; keep it under {max}.",
                        n=len(tag), max=MAX_HASHTAG)
    return tag


def is_link(text: str) -> bool:
    return text.strip().lower().startswith(("http://", "https://"))


def read_details(extras: list[str]) -> tuple[Details, str | None]:
    """The parts after the date, in any order: (the details, the first part that is none of
    them, for the caller's "write it like" reply). The first plain part is the venue."""
    details = Details()
    for extra in extras:
        extra = extra.strip()
        if not extra:
            continue
        found = _MAX.match(extra)
        if found is None and _bad_capacity(extra):
            raise UserError("After max, write a number of seats from 1 to {max}.",
                            max=MAX_CAPACITY)
        if found:
            details = replace(details, capacity=read_capacity(found.group(1)))
        elif (about := _ABOUT.match(extra)) is not None:
            details = replace(details, about=check_about(about.group("text")))
        elif (ends := _ENDS.match(extra)) is not None:
            details = replace(details, ends=read_end(ends.group("text")))
        elif is_link(extra):
            details = replace(details, link=check_link(extra))
        elif extra.startswith("#") and details.hashtag is None and " " not in extra:
            details = replace(details, hashtag=check_hashtag(extra))
        elif details.venue is None:
            details = replace(details, venue=check_venue(extra))
        else:
            return details, extra
    return details, None


def venue_and_capacity(extras: list[str]) -> tuple[str | None, int | None, str | None]:
    """`Verkadefabriek`, `max 40`, in either order: (venue, capacity, the first part that is
    neither, for the caller's "write it like" reply)."""
    venue: str | None = None
    capacity: int | None = None
    for extra in extras:
        if not extra:
            continue
        found = _MAX.match(extra)
        if found is None and _bad_capacity(extra):
            raise UserError("After max, write a number of seats from 1 to {max}.",
                            max=MAX_CAPACITY)
        if found:
            capacity = read_capacity(found.group(1))
        elif venue is None:
            venue = check_venue(extra)
        else:
            return venue, capacity, extra
    return venue, capacity, None


def end_after(starts_at: datetime, ends: time, timezone: str) -> datetime:
    """The moment a meetup starting at `starts_at` ends at the wall-clock time `ends`: the
    same evening, or after midnight when that time is not after the start."""
    tz = ZoneInfo(timezone)
    local = starts_at.astimezone(tz)
    end = datetime.combine(local.date(), ends, tzinfo=tz)
    if end.astimezone(UTC) <= starts_at:
        end = datetime.combine(local.date() + timedelta(days=1), ends, tzinfo=tz)
    return end.astimezone(UTC)
