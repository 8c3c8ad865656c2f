"""The nudge 12 hours before a date poll closes: every chat of the chapter hears how many have
voted and when it closes, and those who said yes to the chapter's last meetup and haven't
voted get one DM. Planned as a reminder row (reminders.schedule_poll_nudge), claimed and
sent once like the others (delivery.queue_reminder)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot.core.i18n import format_when, translator
from bot.core.notify import post_to_chapter
from bot.core.people import person_language, person_timezone
from bot.core.queries import dm_targets_of
from bot.core.work import Work
from bot.db.models import (
    Chapter,
    Meetup,
    MeetupStatus,
    Person,
    Poll,
    PollKind,
    PollOption,
    Reminder,
    ReminderStatus,
    Rsvp,
    RsvpStatus,
    Vote,
)

log = logging.getLogger(__name__)


async def send_poll_nudge(w: Work, reminder: Reminder) -> ReminderStatus:
    """Queue the nudge of a claimed reminder; returns the reminder's new status (skipped when
    the poll is no longer open, the meetup was cancelled, or the bot woke too late)."""
    meetup = await w.s.get_one(Meetup, reminder.meetup_id)
    if meetup.status != MeetupStatus.POLLING:
        return ReminderStatus.SKIPPED
    poll = await w.s.scalar(select(Poll).where(
        Poll.chapter_id == meetup.chapter_id, Poll.meetup_id == meetup.id,
        Poll.kind == PollKind.DATE, Poll.closed_at.is_(None)))
    if poll is None or poll.closes_at <= w.now:
        return ReminderStatus.SKIPPED
    if w.now - reminder.due_at > w.svc.settings.reminder_grace:
        log.info("poll nudge %s skipped: %s late", reminder.id, w.now - reminder.due_at)
        return ReminderStatus.SKIPPED
    chapter = await w.s.get_one(Chapter, meetup.chapter_id)
    voted = set(await w.s.scalars(select(Vote.person_id).where(Vote.poll_id == poll.id)))
    await post_to_chapter(w, chapter.id, group_text(meetup, poll, chapter, len(voted)))
    options = list(await w.s.scalars(select(PollOption).where(PollOption.poll_id == poll.id)
                                     .order_by(PollOption.position)))
    people = [p for p in await yes_to_last_meetup(w, chapter, meetup)
              if p.id not in voted and p.reminder_offsets != "off"]
    targets = await dm_targets_of(w.s, [p.id for p in people])
    for person in people:
        if targets[person.id]:
            # Someone who can't be DM'd is not named in the group for a nudge: the group
            # has just heard it.
            w.out.dm(targets[person.id], dm_text(meetup, poll, options, chapter, person, w),
                     None, (person.id, chapter.id, meetup.id), name_if_refused=False)
    return ReminderStatus.SENT


async def yes_to_last_meetup(w: Work, chapter: Chapter, polling: Meetup) -> list[Person]:
    """Who said yes to the chapter's most recent meetup that has begun (not cancelled)."""
    last = await w.s.scalar(select(Meetup.id).where(
        Meetup.chapter_id == chapter.id, Meetup.status == MeetupStatus.SCHEDULED,
        Meetup.starts_at <= w.now, Meetup.id != polling.id)
        .order_by(Meetup.starts_at.desc(), Meetup.id.desc()).limit(1))
    if last is None:
        return []
    return list(await w.s.scalars(select(Person).join(Rsvp, Rsvp.person_id == Person.id)
                                  .where(Rsvp.meetup_id == last, Rsvp.status == RsvpStatus.YES)
                                  .order_by(Rsvp.id)))


def group_text(meetup: Meetup, poll: Poll, chapter: Chapter, voters: int) -> str:
    _ = translator(chapter.language)
    closes = format_when(poll.closes_at, chapter.timezone, chapter.language)
    if not voters:
        return _("⏰ The date poll for {title} closes {closes}, and nobody has voted yet. "
                 "Vote in the poll, or with /vote.", title=meetup.title, closes=closes)
    return _.n("⏰ The date poll for {title} closes {closes}; {n} person has voted so far. "
               "Not yet? Vote in the poll, or with /vote.",
               "⏰ The date poll for {title} closes {closes}; {n} people have voted so far. "
               "Not yet? Vote in the poll, or with /vote.", voters,
               title=meetup.title, closes=closes)


def dm_text(meetup: Meetup, poll: Poll, options: list[PollOption], chapter: Chapter,
            person: Person, w: Work) -> str:
    language = person_language(person, chapter, w.svc.settings)
    timezone = person_timezone(person, chapter, w.svc.settings)
    _ = translator(language)
    lines = [_("{chapter} is picking the date of {title}, and you haven't voted yet. The poll "
               "closes {closes}.", chapter=chapter.name, title=meetup.title,
               closes=format_when(poll.closes_at, timezone, language))]
    lines += [f"{o.position + 1}. " + (format_when(o.starts_at, timezone, language)
                                       if o.starts_at else o.label) for o in options]
    lines.append(_("Vote in the poll in the group, or send /vote with the numbers of every "
                   "date you can make there, e.g. /vote 1 3."))
    return "\n".join(lines)
