"""What is due: poll closes and reminders. Rows are claimed with a conditional UPDATE that
only one process can win, then handled each in its own unit of work; a claim never finished
(a crash) expires after a lease. The scheduler calls `run_due` and arms for `next_due_at`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.engine import CursorResult

from bot.core.announce import meetup_calendar
from bot.core.i18n import format_when, translator
from bot.core.messages import ChatRef, OutFile, UserRef
from bot.core.notify import dm_failed
from bot.core.outbox import dm_first_accepting
from bot.core.people import person_language, person_timezone
from bot.core.polls import close_poll
from bot.core.ports import CannotDM
from bot.core.queries import chapter_chats, dm_targets
from bot.core.recurring import after_meetup
from bot.core.reminders import DAY_BEFORE, reminder_text
from bot.core.unit import Units
from bot.core.work import Services, Work
from bot.db.models import (
    Chapter,
    Meetup,
    MeetupStatus,
    Person,
    Poll,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Rsvp,
    RsvpStatus,
)

log = logging.getLogger(__name__)


async def next_due_at(w: Work) -> datetime | None:
    """The earliest moment something may be done: a claimed row counts from its lease's end."""
    rem_at = case((Reminder.claimed_until > Reminder.due_at, Reminder.claimed_until),
                  else_=Reminder.due_at)
    poll_at = case((Poll.claimed_until > Poll.closes_at, Poll.claimed_until),
                   else_=Poll.closes_at)
    first_reminder = await w.s.scalar(select(func.min(rem_at)).where(
        Reminder.status == ReminderStatus.PENDING))
    first_poll = await w.s.scalar(select(func.min(poll_at)).where(Poll.closed_at.is_(None)))
    candidates = [t for t in (first_reminder, first_poll) if t is not None]
    if not candidates:
        return None
    # min() over a CASE loses the column type on SQLite; normalise to aware UTC.
    return min(_as_utc(t) for t in candidates)


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _won(result: object) -> bool:
    return isinstance(result, CursorResult) and result.rowcount == 1


async def run_due(units: Units) -> int:
    """Close due polls and send due reminders, in batches; returns how many were handled."""
    handled = 0
    while True:
        batch = await close_due_polls(units) + await send_due_reminders(units)
        handled += batch
        if batch == 0:
            return handled


async def claim_due_polls(w: Work) -> list[int]:
    free = or_(Poll.claimed_until.is_(None), Poll.claimed_until <= w.now)
    ids = list(await w.s.scalars(select(Poll.id).where(
        Poll.closed_at.is_(None), Poll.closes_at <= w.now, free).order_by(Poll.closes_at)))
    won = []
    for pid in ids:
        result = await w.s.execute(update(Poll).where(
            Poll.id == pid, Poll.closed_at.is_(None), free)
            .values(claimed_until=w.now + w.svc.settings.claim_lease)
            .execution_options(synchronize_session=False))
        if _won(result):
            won.append(pid)
    return won


async def close_due_polls(units: Units) -> int:
    async with units() as w:
        now = w.now
        won = await claim_due_polls(w)
    for pid in won:
        try:
            async with units(now) as w:
                poll = await w.s.get_one(Poll, pid)
                if poll.closed_at is None:
                    await close_poll(w, poll)
        except Exception:
            log.exception("closing poll %s failed; it is retried after its lease", pid)
    return len(won)


async def claim_reminders(w: Work) -> list[int]:
    """Claim due reminders with a conditional UPDATE that only one process can win per row."""
    free = or_(Reminder.claimed_until.is_(None), Reminder.claimed_until <= w.now)
    ids = list(await w.s.scalars(
        select(Reminder.id).where(Reminder.status == ReminderStatus.PENDING,
                                  Reminder.due_at <= w.now, free)
        .order_by(Reminder.due_at, Reminder.id).limit(w.svc.settings.batch_size)))
    won = []
    lease = w.now + w.svc.settings.claim_lease
    for rid in ids:
        result = await w.s.execute(
            update(Reminder).where(and_(Reminder.id == rid,
                                        Reminder.status == ReminderStatus.PENDING, free))
            .values(claimed_until=lease).execution_options(synchronize_session=False))
        if _won(result):
            won.append(rid)
    return won


async def send_due_reminders(units: Units) -> int:
    async with units() as w:
        now = w.now
        won = await claim_reminders(w)
    # Sent side by side: with a platform's network latency one at a time would be far
    # slower than its rate limits allow. Only sending happens outside the database.
    gate = asyncio.Semaphore(units.svc.settings.send_concurrency)

    async def one(rid: int) -> None:
        async with gate:
            try:
                await send_reminder(units, rid, now)
            except Exception:
                log.exception("reminder %s failed; it is retried after its lease", rid)

    await asyncio.gather(*(one(rid) for rid in won))
    return len(won)


@dataclass
class Outgoing:
    """A claimed reminder, ready to send without holding the database."""

    reminder_id: int
    chapter_id: int
    meetup_id: int
    person_id: int | None
    text: str
    file: OutFile | None = None
    chats: list[ChatRef] = field(default_factory=list)  # the chapter's chats
    users: list[UserRef] = field(default_factory=list)  # a DM: the person's accounts, best first


async def send_reminder(units: Units, rid: int, now: datetime) -> None:
    async with units(now) as w:
        reminder = await w.s.get_one(Reminder, rid)
        if reminder.status != ReminderStatus.PENDING:
            return
        prepared = await prepare(w, reminder)
        if isinstance(prepared, ReminderStatus):
            await finish(w, None, reminder, prepared, None)
            return
    status, failure = await send(units.svc, prepared)
    async with units(now) as w:
        reminder = await w.s.get_one(Reminder, rid)
        await finish(w, prepared, reminder, status, failure)


async def prepare(w: Work, reminder: Reminder) -> Outgoing | ReminderStatus:
    """What to send for one claimed reminder, or the status it ends with unsent."""
    s, svc = w.s, w.svc
    meetup = await s.get_one(Meetup, reminder.meetup_id)
    chapter = await s.get_one(Chapter, meetup.chapter_id)
    if meetup.status != MeetupStatus.SCHEDULED or meetup.starts_at is None:
        return ReminderStatus.SKIPPED
    if w.now - reminder.due_at > svc.settings.reminder_grace:
        log.info("reminder %s skipped: %s late", reminder.id, w.now - reminder.due_at)
        return ReminderStatus.SKIPPED
    out = Outgoing(reminder.id, chapter.id, meetup.id, reminder.person_id, "")
    if reminder.kind in (ReminderKind.GROUP, ReminderKind.FOLLOW_UP):
        _ = translator(chapter.language)
        if reminder.kind == ReminderKind.FOLLOW_UP:
            came = await s.scalar(select(func.count()).select_from(Rsvp).where(
                Rsvp.meetup_id == meetup.id, Rsvp.checked_in_at.is_not(None)))
            out.text = _("Thanks for coming to {title}! {n} checked in. Want to hear when the "
                         "next one is announced? Send /next.", title=meetup.title, n=came or 0)
        elif reminder.offset_minutes == DAY_BEFORE:
            venue = ", " + meetup.venue if meetup.venue else ""
            out.text = _("Tomorrow: {title}, {when}{venue}. Coming? /rsvp yes — who's coming? "
                         "/who", title=meetup.title, venue=venue,
                         when=format_when(meetup.starts_at, chapter.timezone, chapter.language))
        else:
            out.text = reminder_text(meetup, chapter, chapter.language, chapter.timezone,
                                     reminder.offset_minutes)
        out.chats = [c for c in await chapter_chats(s, chapter.id) if svc.serves(c.platform)]
        return out
    assert reminder.person_id is not None
    person = await s.get_one(Person, reminder.person_id)
    rsvp = await s.scalar(select(Rsvp).where(Rsvp.meetup_id == meetup.id,
                                             Rsvp.person_id == person.id))
    if rsvp is None or rsvp.status != RsvpStatus.YES:
        return ReminderStatus.SKIPPED
    language = person_language(person, chapter, svc.settings)
    out.text = reminder_text(meetup, chapter, language,
                             person_timezone(person, chapter, svc.settings),
                             reminder.offset_minutes)
    out.file = meetup_calendar(meetup, chapter, w.now)
    out.users = await dm_targets(s, svc, person.id)
    return out if out.users else ReminderStatus.FAILED


async def send(svc: Services, out: Outgoing) -> tuple[ReminderStatus, CannotDM | None]:
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
        return (ReminderStatus.SENT if delivered else ReminderStatus.FAILED), None
    failure = await dm_first_accepting(svc.messenger, out.users, out.text, out.file)
    return (ReminderStatus.SENT, None) if failure is None else (ReminderStatus.FAILED, failure)


async def finish(w: Work, out: Outgoing | None, reminder: Reminder, status: ReminderStatus,
                 failure: CannotDM | None) -> None:
    reminder.status = status
    reminder.sent_at = w.now if status == ReminderStatus.SENT else None
    reminder.claimed_until = None
    if failure is not None and out is not None and out.person_id is not None:
        person = await w.s.get_one(Person, out.person_id)
        chapter = await w.s.get_one(Chapter, out.chapter_id)
        await dm_failed(w, person, chapter, out.meetup_id, failure)
    if reminder.kind == ReminderKind.FOLLOW_UP:
        # The meetup is over (the follow-up was sent, or skipped when the bot was down), so
        # a recurring chapter opens its next one, announced after the "thanks for coming".
        await after_meetup(w, reminder.meetup_id)
