"""Meetups as iCalendar files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.messages import OutFile

if TYPE_CHECKING:
    from icalendar import Event

# icalendar (some 3 MiB) is loaded with the first calendar file, not at start.

MEETUP_LENGTH = timedelta(hours=3)


def meetup_event(
    *, uid: str, title: str, starts_at: datetime, venue: str | None, chapter: str,
    stamp: datetime, cancelled: bool = False, ends_at: datetime | None = None,
    about: str | None = None, link: str | None = None, hashtag: str | None = None,
    sequence: int = 0,
) -> Event:
    """One meetup. A changed meetup keeps its `uid` and gets a higher `sequence`, so a
    calendar that imported it before updates the entry instead of adding a second one."""
    from icalendar import Event

    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("summary", title)
    event.add("dtstart", starts_at)
    event.add("dtend", ends_at or starts_at + MEETUP_LENGTH)
    event.add("dtstamp", stamp)
    event.add("description", "\n\n".join(part for part in (about, hashtag, chapter) if part))
    if venue or link:
        event.add("location", venue or link)
    if link:
        event.add("url", link)
    if cancelled:
        event.add("status", "CANCELLED")
    return event


def calendar_file(filename: str, events: Sequence[Event], name: str) -> OutFile:
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", "-//IRL meetup bot//irlbot//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(event)
    return OutFile(filename=filename, content=cal.to_ical(), mime_type="text/calendar")
