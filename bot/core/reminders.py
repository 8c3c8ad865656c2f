"""Reminder rows: written when someone says yes, sent when due, once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import (
    Services,
    chapter_chats,
    dm_failed,
    dm_targets,
    person_language,
    person_timezone,
)
from bot.core.dates import parse_offsets
from bot.core.i18n import format_when, translator
from bot.core.messages import ChatRef, OutFile, UserRef
from bot.core.outbox import dm_first_accepting
from bot.core.ports import CannotDM
from bot.core.rules import reminder_times
from bot.db.models import Chapter, Meetup, Person, Poll, Reminder, Rsvp

log = logging.getLogger(__name__)

FOLLOW_UP_AFTER = 4 * 60  # minutes after the start: the "thanks, sign up for the next" line


def offsets_for(person: Person, chapter: Chapter, svc: Services) -> list[int]:
    if person.reminder_offsets == "off":
        return []
    for text in (person.reminder_offsets, chapter.reminder_offsets):
        if text:
            return parse_offsets(text)
    return list(svc.settings.reminder_offsets)


async def schedule_person(s: AsyncSession, svc: Services, now: datetime, meetup: Meetup,
                          person: Person, chapter: Chapter) -> None:
    """Make the pending reminders of one person for one meetup match their settings.
    Reminders already sent stay as they are; one whose time has passed is not written."""
    assert meetup.starts_at is not None
    await clear_person(s, meetup.id, person.id)
    existing = set(await s.scalars(select(Reminder.offset_minutes).where(
        Reminder.meetup_id == meetup.id, Reminder.person_id == person.id)))
    earliest = None
    for offset, due in reminder_times(meetup.starts_at, offsets_for(person, chapter, svc), now):
        if offset in existing:
            continue
        s.add(Reminder(meetup_id=meetup.id, person_id=person.id, offset_minutes=offset,
                       due_at=due, status="pending"))
        earliest = due if earliest is None else min(earliest, due)
    if earliest is not None:
        svc.due_changed(earliest)


async def clear_person(s: AsyncSession, meetup_id: int, person_id: int) -> None:
    await s.execute(delete(Reminder).where(
        Reminder.meetup_id == meetup_id, Reminder.person_id == person_id,
        Reminder.status == "pending"))


async def schedule_group(s: AsyncSession, svc: Services, now: datetime, meetup: Meetup) -> None:
    assert meetup.starts_at is not None
    # The day-before reminder, and (a negative offset) the follow-up after the meetup.
    offsets = [svc.settings.group_reminder_offset, -FOLLOW_UP_AFTER]
    for offset, due in reminder_times(meetup.starts_at, offsets, now):
        s.add(Reminder(meetup_id=meetup.id, person_id=None, offset_minutes=offset, due_at=due,
                       status="pending"))
        svc.due_changed(due)


async def clear_meetup(s: AsyncSession, meetup_id: int) -> None:
    await s.execute(delete(Reminder).where(Reminder.meetup_id == meetup_id,
                                           Reminder.status == "pending"))


async def next_due_at(s: AsyncSession) -> datetime | None:
    """The earliest moment something may be done: a claimed row counts from its lease's end."""
    rem_at = case((Reminder.claimed_until > Reminder.due_at, Reminder.claimed_until),
                  else_=Reminder.due_at)
    poll_at = case((Poll.claimed_until > Poll.closes_at, Poll.claimed_until),
                   else_=Poll.closes_at)
    first_reminder = await s.scalar(select(func.min(rem_at)).where(Reminder.status == "pending"))
    first_poll = await s.scalar(select(func.min(poll_at)).where(Poll.closed_at.is_(None)))
    candidates = [t for t in (first_reminder, first_poll) if t is not None]
    if not candidates:
        return None
    # min() over a CASE loses the column type on SQLite; normalise to aware UTC.
    return min(_as_utc(t) for t in candidates)


def _as_utc(value: datetime | str) -> datetime:
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def claim_reminders(s: AsyncSession, svc: Services, now: datetime) -> list[int]:
    """Claim due reminders with a conditional UPDATE that only one process can win per row."""
    free = or_(Reminder.claimed_until.is_(None), Reminder.claimed_until <= now)
    ids = list(await s.scalars(
        select(Reminder.id).where(Reminder.status == "pending", Reminder.due_at <= now, free)
        .order_by(Reminder.due_at, Reminder.id).limit(svc.settings.batch_size)))
    won = []
    lease = now + svc.settings.claim_lease
    for rid in ids:
        result = await s.execute(
            update(Reminder).where(and_(Reminder.id == rid, Reminder.status == "pending", free))
            .values(claimed_until=lease).execution_options(synchronize_session=False))
        if result.rowcount == 1:  # type: ignore[attr-defined]
            won.append(rid)
    return won


def reminder_text(meetup: Meetup, chapter: Chapter, language: str, timezone: str,
                  offset_minutes: int) -> str:
    from bot.core.i18n import format_duration

    _ = translator(language)
    assert meetup.starts_at is not None
    lines = [
        _("Reminder: {title} starts in {left}.", title=meetup.title,
          left=format_duration(offset_minutes, language)),
        _("When: {when}", when=format_when(meetup.starts_at, timezone, language)),
    ]
    if meetup.venue:
        lines.append(_("Where: {venue}", venue=meetup.venue))
    lines.append(_("Chapter: {name}", name=chapter.name))
    lines.append(_("Can't make it? Send /rsvp no in the group, so someone on the waitlist "
                   "gets your seat."))
    return "\n".join(lines)


@dataclass
class Outgoing:
    """A claimed reminder, ready to send without holding the database."""

    reminder_id: int
    chapter_id: int
    meetup_id: int
    person_id: int | None
    text: str
    file: OutFile | None = None
    chats: list[ChatRef] = field(default_factory=list)  # the group's reminder
    users: list[UserRef] = field(default_factory=list)  # a DM: the person's accounts, best first


async def prepare(s: AsyncSession, svc: Services, now: datetime,
                  reminder: Reminder) -> Outgoing | str:
    """What to send for one claimed reminder, or the status it ends with unsent."""
    from bot.core.meetups import meetup_calendar

    meetup = await s.get_one(Meetup, reminder.meetup_id)
    chapter = await s.get_one(Chapter, meetup.chapter_id)
    if meetup.status != "scheduled" or meetup.starts_at is None:
        return "skipped"
    if now - reminder.due_at > svc.settings.reminder_grace:
        log.info("reminder %s skipped: %s late", reminder.id, now - reminder.due_at)
        return "skipped"
    out = Outgoing(reminder.id, chapter.id, meetup.id, reminder.person_id, "")
    if reminder.person_id is None:
        _ = translator(chapter.language)
        out.text = _("Tomorrow: {title}, {when}{venue}. Coming? /rsvp yes — who's coming? /who",
                     title=meetup.title,
                     when=format_when(meetup.starts_at, chapter.timezone, chapter.language),
                     venue=f", {meetup.venue}" if meetup.venue else "")
        if reminder.offset_minutes < 0:
            came = await s.scalar(select(func.count()).select_from(Rsvp).where(
                Rsvp.meetup_id == meetup.id, Rsvp.checked_in_at.is_not(None)))
            out.text = _("Thanks for coming to {title}! {n} checked in. Want to hear when the "
                         "next one is announced? Send /next.", title=meetup.title, n=came or 0)
        elif reminder.offset_minutes != 24 * 60:
            out.text = reminder_text(meetup, chapter, chapter.language, chapter.timezone,
                                     reminder.offset_minutes)
        out.chats = [c for c in await chapter_chats(s, chapter.id) if c.platform in svc.messengers]
        return out
    person = await s.get_one(Person, reminder.person_id)
    rsvp = await s.scalar(select(Rsvp).where(Rsvp.meetup_id == meetup.id,
                                             Rsvp.person_id == person.id))
    if rsvp is None or rsvp.status != "yes":
        return "skipped"
    language = person_language(person, chapter, svc)
    out.text = reminder_text(meetup, chapter, language, person_timezone(person, chapter, svc),
                             reminder.offset_minutes)
    out.file = meetup_calendar(meetup, chapter, now)
    out.users = await dm_targets(s, svc, person.id)
    return out if out.users else "failed"


async def send(svc: Services, out: Outgoing) -> tuple[str, CannotDM | None]:
    """Send a prepared reminder; returns its status and, if no DM got through, why."""
    if out.chats:
        # Each chat on its own: a group the bot was removed from must not keep the chapter's
        # other chats from their reminder, nor have them get it again on every retry.
        delivered = 0
        for chat in out.chats:
            try:
                await svc.messenger(chat.platform).send_text(chat, out.text)
                delivered += 1
            except Exception:
                log.warning("group reminder %s not delivered to %s", out.reminder_id, chat,
                            exc_info=True)
        return ("sent" if delivered else "failed"), None
    failure = await dm_first_accepting(svc.messenger, out.users, out.text, out.file)
    return ("sent", None) if failure is None else ("failed", failure)


async def finish(s: AsyncSession, svc: Services, now: datetime, out: Outgoing | None,
                 reminder: Reminder, status: str, failure: CannotDM | None) -> None:
    reminder.status = status
    reminder.sent_at = now if status == "sent" else None
    reminder.claimed_until = None
    if failure is not None and out is not None and out.person_id is not None:
        person = await s.get_one(Person, out.person_id)
        chapter = await s.get_one(Chapter, out.chapter_id)
        await dm_failed(s, svc, now, person, chapter, out.meetup_id, failure)
    if reminder.person_id is None and reminder.offset_minutes < 0:
        # The follow-up: the meetup is over (sent, or skipped when the bot was down), so a
        # recurring chapter opens its next one, announced after the "thanks for coming".
        from bot.core.recurring import after_meetup

        await after_meetup(s, svc, now, reminder.meetup_id)
