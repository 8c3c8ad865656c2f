"""Describing and announcing a meetup, shared by the features: the one-line description, the
announcement with its counts and RSVP buttons (kept current by edits), the calendar file, the
interest list and the followers told, and opening a meetup whose date is set."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from bot.core.calendar import calendar_file, meetup_event
from bot.core.details import Details, end_after
from bot.core.i18n import format_span, translator
from bot.core.messages import Button, ChatRef, OutFile
from bot.core.notify import post_to_chapter, send_dm
from bot.core.outbox import Posted
from bot.core.poll_outcome import date_poll_lines
from bot.core.queries import (
    announcement_posts,
    dm_targets_of,
    tally,
)
from bot.core.reminders import schedule_group
from bot.core.slugs import meetup_page
from bot.core.text import defuse
from bot.core.work import Work
from bot.db.models import (
    Chapter,
    Follow,
    Interest,
    Meetup,
    MeetupStatus,
    Person,
    PostKind,
    RsvpStatus,
)

if TYPE_CHECKING:
    from icalendar import Event


def rsvp_buttons(meetup_id: int, language: str) -> list[Button]:
    _ = translator(language)
    return [
        # TRANSLATORS: the buttons under an announcement, said by the member who taps one.
        Button(_.p("rsvp button", "✅ Going"), f"rsvp:{meetup_id}:yes"),
        Button(_.p("rsvp button", "🤔 Maybe"), f"rsvp:{meetup_id}:maybe"),
        Button(_.p("rsvp button", "❌ Can't"), f"rsvp:{meetup_id}:no"),
    ]


def describe(meetup: Meetup, chapter: Chapter, language: str) -> str:
    assert meetup.starts_at is not None
    when = format_span(meetup.starts_at, meetup.ends_at, chapter.timezone, language)
    return defuse(f"{meetup.title} — {when}" + (f", {meetup.venue}" if meetup.venue else ""))


def detail_lines(meetup: Meetup) -> list[str]:
    """The description, the online link and the hashtag, a line each, where there are."""
    lines = []
    if meetup.about:
        lines.append(defuse(f"📝 {meetup.about}"))
    if meetup.online_link:
        lines.append(f"🔗 {meetup.online_link}")
    if meetup.hashtag:
        lines.append(f"🏷 {meetup.hashtag}")
    return lines


async def counts_line(w: Work, meetup: Meetup, language: str) -> str:
    _ = translator(language)
    counts = await tally(w.s, meetup.id)
    taken = counts.get(RsvpStatus.YES, (0, 0))[1]
    maybe = counts.get(RsvpStatus.MAYBE, (0, 0))[0]
    waiting = counts.get(RsvpStatus.WAITLIST, (0, 0))[0]
    going = (_.np("rsvp count", "{n}/{max} going", "{n}/{max} going", taken,
                  max=meetup.capacity) if meetup.capacity
             else _.np("rsvp count", "{n} going", "{n} going", taken))
    line = going + " · " + _.np("rsvp count", "{n} maybe", "{n} maybe", maybe)
    if waiting:
        line += " · " + _.n("{n} on the waitlist", "{n} on the waitlist", waiting)
    return line


def page_lines(w: Work, meetup: Meetup) -> list[str]:
    """The meetup's web page, when the web server is on."""
    public_url = w.svc.settings.public_url
    return [f"🌐 {meetup_page(public_url, meetup)}"] if public_url else []


async def announcement_text(w: Work, meetup: Meetup, chapter: Chapter) -> str:
    _ = translator(chapter.language)
    return "\n".join([
        _("📅 {what}", what=describe(meetup, chapter, chapter.language)),
        *detail_lines(meetup),
        *page_lines(w, meetup),
        await counts_line(w, meetup, chapter.language),
        *await date_poll_lines(w, meetup, chapter.language),
        _("Coming? Answer with ✅ 🤔 ❌ below, or send /rsvp yes (with guests: /rsvp yes +1)."),
    ])


async def announce(w: Work, meetup: Meetup, chapter: Chapter, headline: str) -> None:
    """Post the meetup with its RSVP buttons; the posts are filed so answers find it back."""
    text = headline + "\n" + await announcement_text(w, meetup, chapter)
    await post_to_chapter(w, chapter.id, text, rsvp_buttons(meetup.id, chapter.language),
                          record=Posted(chapter.id, PostKind.ANNOUNCEMENT, meetup_id=meetup.id))


async def refresh_announcements(w: Work, meetup: Meetup, chapter: Chapter) -> None:
    """Keep the counts under each announcement current (the adapters pace the edits)."""
    posts = await announcement_posts(w.s, meetup.id)
    if not posts:
        return
    _ = translator(chapter.language)
    cancelled = meetup.status == MeetupStatus.CANCELLED
    text = await announcement_text(w, meetup, chapter)
    if cancelled:
        text = _.p("announcement status", "❌ Cancelled") + "\n" + text
    buttons = [] if cancelled else rsvp_buttons(meetup.id, chapter.language)
    for post in posts:
        w.out.edit(ChatRef(post.platform, post.chat_id), post.message_id, text, buttons)


def calendar_event(meetup: Meetup, chapter: Chapter, now: datetime) -> Event:
    assert meetup.starts_at is not None
    return meetup_event(uid=f"meetup-{meetup.id}@irlbot", title=meetup.title,
                        starts_at=meetup.starts_at, venue=meetup.venue, chapter=chapter.name,
                        stamp=now, cancelled=meetup.status == MeetupStatus.CANCELLED,
                        ends_at=meetup.ends_at, about=meetup.about, link=meetup.online_link,
                        hashtag=meetup.hashtag, sequence=meetup.sequence)


def meetup_calendar(meetup: Meetup, chapter: Chapter, now: datetime) -> OutFile:
    event = calendar_event(meetup, chapter, now)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", meetup.title).strip("-").lower()[:40] or "meetup"
    return calendar_file(f"{slug}.ics", [event], chapter.name)


async def notify_followers(w: Work, meetup: Meetup, chapter: Chapter) -> set[int]:
    """Every follower (/follow) hears of a meetup whose date is set, with the RSVP buttons of
    their platform (Matrix: reactions) under the DM. Returns the people told."""
    people = list(await w.s.scalars(select(Person).join(Follow, Follow.person_id == Person.id)
                                    .where(Follow.chapter_id == chapter.id)
                                    .order_by(Follow.id)))
    targets = await dm_targets_of(w.s, [p.id for p in people])
    record = Posted(chapter.id, PostKind.DM_ANNOUNCEMENT, meetup_id=meetup.id)
    for person in people:
        language = person.language or chapter.language
        _ = translator(language)
        text = _("{chapter} has a new meetup: {what}\nComing? Answer below. /unfollow stops "
                 "these messages.", chapter=chapter.name,
                 what=describe(meetup, chapter, language))
        await send_dm(w, person, chapter, meetup.id, text, targets=targets[person.id],
                      buttons=rsvp_buttons(meetup.id, language), record=record)
    return {p.id for p in people}


async def notify_interest(w: Work, meetup: Meetup, chapter: Chapter, what: str,
                          told: Collection[int] = ()) -> None:
    """Everyone on the interest list hears of the next meetup once; the list is then empty.
    People in `told` (followers, just DM'd about it) are taken off the list without a second
    DM."""
    people = list(await w.s.scalars(select(Person).join(Interest, Interest.person_id == Person.id)
                                    .where(Interest.chapter_id == chapter.id)
                                    .order_by(Interest.id)))
    targets = await dm_targets_of(w.s, [p.id for p in people if p.id not in told])
    for person in people:
        if person.id in told:
            continue
        _ = translator(person.language or chapter.language)
        await send_dm(w, person, chapter, meetup.id,
                      _("{chapter} has announced its next meetup: {what}",
                        chapter=chapter.name, what=what), targets=targets[person.id])
    if people:
        await w.s.execute(delete(Interest).where(Interest.chapter_id == chapter.id,
                                                 Interest.person_id.in_([p.id for p in people])))


def new_meetup_row(chapter: Chapter, title: str, starts_at: datetime | None, details: Details,
                   created_by: int | None, now: datetime) -> Meetup:
    """A meetup as organisers describe it; without `starts_at` its date is being voted on
    (the end time is then kept against the first option until the poll sets the date)."""
    return Meetup(chapter_id=chapter.id, title=title, venue=details.venue,
                  capacity=details.capacity, about=details.about, online_link=details.link,
                  hashtag=details.hashtag,
                  ends_at=(end_after(starts_at, details.ends, chapter.timezone)
                           if starts_at is not None and details.ends is not None else None),
                  status=MeetupStatus.SCHEDULED if starts_at else MeetupStatus.POLLING,
                  starts_at=starts_at, created_by=created_by, created_at=now)


async def open_meetup(w: Work, chapter: Chapter, title: str, starts_at: datetime,
                      details: Details, created_by: int | None) -> Meetup:
    """A meetup with its date set (a one-date /newmeetup, or /recurring): the group's
    reminder and follow-up rows, the announcement with RSVP buttons, the followers and the
    interest list told."""
    meetup = new_meetup_row(chapter, title, starts_at, details, created_by, w.now)
    w.s.add(meetup)
    await w.s.flush()
    await schedule_group(w, meetup)
    _ = translator(chapter.language)
    await announce(w, meetup, chapter, _("New meetup!"))
    told = await notify_followers(w, meetup, chapter)
    await notify_interest(w, meetup, chapter, describe(meetup, chapter, chapter.language), told)
    return meetup
