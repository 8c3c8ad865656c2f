"""A meetup's details as organisers type them: the title, the venue and `max N` seats."""

from __future__ import annotations

import re

from bot.core.errors import UserError
from bot.core.text import one_line, visible

MAX_TITLE = 200
MAX_VENUE = 200
MAX_CAPACITY = 100_000
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
            capacity = int(found.group(1))
            if not 1 <= capacity <= MAX_CAPACITY:
                raise UserError("After max, write a number of seats from 1 to {max}.",
                                max=MAX_CAPACITY)
        elif venue is None:
            venue = one_line(extra)
            if not visible(venue):
                raise UserError("The venue has no letters or digits I can show. Write it like: "
                                "Verkadefabriek")
            if len(venue) > MAX_VENUE:
                raise UserError("The venue is {n} characters long; keep it under {max}.",
                                n=len(venue), max=MAX_VENUE)
        else:
            return venue, capacity, extra
    return venue, capacity, None
