"""What is due: messages left in the outbox, poll closes and reminders. Rows are claimed with
a conditional UPDATE that only one process can win, then handled each in its own unit of
work; a claim never finished (a crash) expires after a lease. A due reminder becomes outbox
rows, sent like every other message. The scheduler calls `run_due` and arms for
`next_due_at`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select, update

from bot.core.announce import meetup_calendar
from bot.core.i18n import format_when, translator
from bot.core.messages import ChatRef, OutFile, UserRef
from bot.core.nudges import send_poll_nudge
from bot.core.outbox import chat_of_key
from bot.core.people import person_language, person_timezone
from bot.core.polls import close_poll
from bot.core.ports import Messenger, Metrics, Paced
from bot.core.queries import chapter_chats, dm_targets
from bot.core.recurring import after_meetup
from bot.core.reminders import DAY_BEFORE, reminder_text
from bot.core.unit import Units
from bot.core.work import Work
from bot.db.models import (
    CalendarSent,
    Chapter,
    Meetup,
    MeetupStatus,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Person,
    Poll,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Rsvp,
    RsvpStatus,
)
from bot.db.session import changed_one_row

log = logging.getLogger(__name__)


async def next_due_at(w: Work) -> datetime | None:
    """The earliest moment something may be done: a claimed row counts from its lease's end,
    a message still to send from when it was queued."""
    # Reminders in two parts, each read through an index: the earliest unclaimed one (the first
    # row in due order, nearly always), and the few being sent, from their lease's end. One
    # min() over a CASE read every pending reminder of the network at each wake.
    first_free = await w.s.scalar(
        select(Reminder.due_at).where(Reminder.status == ReminderStatus.PENDING,
                                      Reminder.claimed_until.is_(None))
        .order_by(Reminder.due_at).limit(1))
    rem_at = case((Reminder.claimed_until > Reminder.due_at, Reminder.claimed_until),
                  else_=Reminder.due_at)
    first_claimed = await w.s.scalar(select(func.min(rem_at)).where(
        Reminder.status == ReminderStatus.PENDING, Reminder.claimed_until.is_not(None)))
    poll_at = case((Poll.claimed_until > Poll.closes_at, Poll.claimed_until),
                   else_=Poll.closes_at)
    first_poll = await w.s.scalar(select(func.min(poll_at)).where(
        Poll.closed_at.is_(None), Poll.close_attempts < w.svc.settings.max_attempts))
    out_at = case((OutboxMessage.claimed_until.is_not(None), OutboxMessage.claimed_until),
                  else_=OutboxMessage.created_at)
    first_message = await w.s.scalar(select(func.min(out_at)).where(
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.platform.in_(list(w.svc.messengers))))
    candidates = [t for t in (first_free, first_claimed, first_poll, first_message)
                  if t is not None]
    if not candidates:
        return None
    # min() over a CASE loses the column type on SQLite; normalise to aware UTC.
    return min(_as_utc(t) for t in candidates)


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)



async def run_due(units: Units) -> int:
    """Close due polls and send due reminders, in batches; returns how many were handled."""
    handled = 0
    while not units.past_deadline():  # shutting down: what is left waits for the next start
        batch = (await send_pending(units) + await close_due_polls(units)
                 + await send_due_reminders(units))
        handled += batch
        if batch == 0:
            break
    await units.flush()  # what was sent is recorded when this returns
    return handled


async def claim_due_polls(w: Work) -> list[tuple[int, int]]:
    """Claim due poll closes; (poll id, which try this is). A close that failed
    `max_attempts` times is not tried again: the poll stays open for /closepoll."""
    free = or_(Poll.claimed_until.is_(None), Poll.claimed_until <= w.now)
    tries = w.svc.settings.max_attempts
    due = (await w.s.execute(select(Poll.id, Poll.close_attempts).where(
        Poll.closed_at.is_(None), Poll.closes_at <= w.now, Poll.close_attempts < tries, free)
        .order_by(Poll.closes_at))).all()
    won = []
    for pid, attempts in due:
        result = await w.s.execute(update(Poll).where(
            Poll.id == pid, Poll.closed_at.is_(None), Poll.close_attempts == attempts, free)
            .values(claimed_until=w.now + w.svc.settings.claim_lease,
                    close_attempts=attempts + 1)
            .execution_options(synchronize_session=False))
        if changed_one_row(result):
            won.append((pid, attempts + 1))
    return won


async def close_due_polls(units: Units) -> int:
    async with units() as w:
        now = w.now
        won = await claim_due_polls(w)
    tries = units.svc.settings.max_attempts
    for pid, attempt in won:
        try:
            async with units(now) as w:
                poll = await w.s.get_one(Poll, pid)
                if poll.closed_at is None:
                    await close_poll(w, poll)
        except Exception:
            if attempt < tries:
                log.exception("closing poll %s failed (try %d of %d); it is tried again after "
                              "its lease", pid, attempt, tries)
            else:
                log.exception("closing poll %s failed %d times; given up: it stays open until "
                              "an organiser sends /closepoll", pid, attempt)
    return len(won)


async def claim_reminders(w: Work) -> list[tuple[int, int]]:
    """Claim due reminders with a conditional UPDATE that only one process can win per row;
    (reminder id, which try this is). One tried `max_attempts` times is marked failed."""
    free = or_(Reminder.claimed_until.is_(None), Reminder.claimed_until <= w.now)
    tries = w.svc.settings.max_attempts
    # Tried as often as allowed and not done (the last try killed the process): failed.
    spent = await w.s.execute(
        update(Reminder).where(Reminder.status == ReminderStatus.PENDING,
                               Reminder.due_at <= w.now, Reminder.attempts >= tries, free)
        .values(status=ReminderStatus.FAILED, claimed_until=None)
        .returning(Reminder.id, Reminder.meetup_id, Reminder.person_id)
        .execution_options(synchronize_session=False))
    for rid, meetup_id, person_id in spent.all():
        log.error("reminder %s (meetup %s, person %s) failed %d times; given up", rid,
                  meetup_id, person_id, tries)
        w.svc.metrics.reminder("failed")
    due = (await w.s.execute(
        select(Reminder.id, Reminder.attempts).where(
            Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= w.now, free)
        .order_by(Reminder.due_at, Reminder.id).limit(w.svc.settings.batch_size))).all()
    won = []
    lease = w.now + w.svc.settings.claim_lease
    for rid, attempts in due:
        result = await w.s.execute(
            update(Reminder).where(and_(Reminder.id == rid,
                                        Reminder.status == ReminderStatus.PENDING,
                                        Reminder.attempts == attempts, free))
            .values(claimed_until=lease, attempts=attempts + 1)
            .execution_options(synchronize_session=False))
        if changed_one_row(result):
            won.append((rid, attempts + 1))
    return won


async def send_due_reminders(units: Units) -> int:
    """Claim due reminders batch by batch and queue each in its own unit of work, side by
    side (with a platform's network latency one at a time would be far slower than its rate
    limits allow). The next batch is claimed as soon as the last of this one is taken up, so
    the senders never run dry between batches; a claimed reminder waits at most for the
    ones ahead of it in its batch."""
    concurrency = units.svc.settings.send_concurrency
    queue: asyncio.Queue[tuple[datetime, int, int] | None] = asyncio.Queue(concurrency)
    claimed = 0
    tries = units.svc.settings.max_attempts

    async def claimer() -> None:
        nonlocal claimed
        try:
            while not units.past_deadline():
                async with units() as w:
                    now = w.now
                    won = await claim_reminders(w)
                claimed += len(won)
                for rid, attempt in won:
                    await queue.put((now, rid, attempt))
                if len(won) < units.svc.settings.batch_size:
                    break
        finally:
            for _ in range(concurrency):
                await queue.put(None)

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            now, rid, attempt = item
            try:
                async with units(now) as w:
                    ended = await queue_reminder(w, rid)
            except Exception:
                if attempt < tries:
                    log.exception("reminder %s failed (try %d of %d); it is tried again after "
                                  "its lease", rid, attempt, tries)
                    continue
                log.exception("reminder %s failed %d times; given up", rid, attempt)
                await _give_up_reminder(units, rid)
                continue
            if ended is not None:
                count_reminder(units.svc.metrics, *ended)

    for outcome in await asyncio.gather(claimer(), *(worker() for _ in range(concurrency)),
                                        return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome
    return claimed


async def _give_up_reminder(units: Units, rid: int) -> None:
    try:
        async with units() as w:
            result = await w.s.execute(update(Reminder).where(
                Reminder.id == rid, Reminder.status == ReminderStatus.PENDING)
                .values(status=ReminderStatus.FAILED, claimed_until=None)
                .execution_options(synchronize_session=False))
    except Exception:
        log.exception("reminder %s: could not mark it failed; the next claim does", rid)
        return
    if changed_one_row(result):
        units.svc.metrics.reminder("failed")


@dataclass
class Outgoing:
    """What a due reminder says, and to whom."""

    reminder_id: int
    chapter_id: int
    meetup_id: int
    person_id: int | None
    text: str
    file: OutFile | None = None
    chats: list[ChatRef] = field(default_factory=list)  # the chapter's chats
    users: list[UserRef] = field(default_factory=list)  # a DM: the person's accounts, best first


async def queue_reminder(w: Work, rid: int) -> tuple[ReminderStatus, timedelta] | None:
    """Turn a claimed reminder into outbox rows, in one unit of work with its new status.
    Returns that status and how late it is (now - due), for the metrics once the unit has
    committed (`count_reminder`); None when it was handled before."""
    reminder = await w.s.get_one(Reminder, rid)
    if reminder.status != ReminderStatus.PENDING:
        return None
    late = w.now - reminder.due_at
    if reminder.kind == ReminderKind.POLL_NUDGE:
        reminder.claimed_until = None
        reminder.status = await send_poll_nudge(w, reminder)
        if reminder.status == ReminderStatus.SENT:
            reminder.sent_at = w.now
        return reminder.status, late
    prepared = await prepare(w, reminder)
    reminder.claimed_until = None
    if isinstance(prepared, ReminderStatus):
        reminder.status = prepared
    elif prepared.chats:
        for chat in prepared.chats:
            w.out.text(chat, prepared.text)
        reminder.status, reminder.sent_at = ReminderStatus.SENT, w.now
    else:
        assert prepared.person_id is not None
        w.out.dm(prepared.users, prepared.text, prepared.file,
                 (prepared.person_id, prepared.chapter_id, prepared.meetup_id), reminder.id,
                 reminder_due=reminder.due_at)
        reminder.status = ReminderStatus.QUEUED  # sent or failed when the outbox says so
    if reminder.kind == ReminderKind.FOLLOW_UP:
        # The meetup is over (the follow-up was sent, or skipped when the bot was down), so
        # a recurring chapter opens its next one, announced after the "thanks for coming".
        await after_meetup(w, reminder.meetup_id)
    return reminder.status, late


def count_reminder(metrics: Metrics, status: ReminderStatus, late: timedelta) -> None:
    """Tell the metrics how a reminder ended; one whose DM is in the outbox is counted when
    the outbox sends it (unit.py)."""
    if status == ReminderStatus.SENT:
        metrics.reminder("sent", late.total_seconds())
    elif status in (ReminderStatus.FAILED, ReminderStatus.SKIPPED):
        metrics.reminder(status.value)


async def send_pending(units: Units) -> int:
    """Send outbox rows left pending (by a crash, a deploy, or another copy's lost lease):
    the rows of each chat in order, different chats side by side."""
    if units.past_deadline():
        return 0
    svc = units.svc
    # What this process sent and has yet to record would look in flight (claimed), and hold
    # its chat's later rows back until the next sweep.
    await units.flush()
    async with units() as w:
        # Tried as often as allowed and still not sent (or not recorded): given up.
        spent = await w.s.execute(
            update(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.platform.in_(list(svc.messengers)),
                OutboxMessage.attempts >= svc.settings.max_attempts,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= w.now))
            .values(status=OutboxStatus.FAILED, claimed_until=None)
            .returning(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.chat_key)
            .execution_options(synchronize_session=False))
        for row_id, kind, key in spent.all():
            log.error("outbox row %s (%s to %s) tried %d times; given up", row_id, kind, key,
                      svc.settings.max_attempts)
        rows = (await w.s.execute(
            select(OutboxMessage.id, OutboxMessage.chat_key, OutboxMessage.claimed_until)
            .where(OutboxMessage.status == OutboxStatus.PENDING,
                   OutboxMessage.platform.in_(list(svc.messengers)))
            .order_by(OutboxMessage.id).limit(svc.settings.batch_size))).all()
        now = w.now
    lanes: dict[str, list[int]] = {}
    blocked: set[str] = set()
    for row_id, key, claimed_until in rows:
        if key in blocked:
            continue
        if claimed_until is not None and claimed_until > now:
            blocked.add(key)  # an earlier row of this chat is in flight: keep the order
            continue
        lanes.setdefault(key, []).append(row_id)
    gate = asyncio.Semaphore(svc.settings.send_concurrency)

    async def lane(key: str, ids: list[int]) -> int:
        await chat_turn(svc.messengers, key)  # a group's limit waited out outside the pool
        async with gate:
            # Rows left behind (a crash, a restart): recorded at once, not deferred.
            return await units.send(await units.claim(ids), defer=False)

    return sum(await asyncio.gather(*(lane(key, ids) for key, ids in lanes.items())))


async def chat_turn(messengers: Mapping[str, Messenger], key: str) -> None:
    """Wait until the chat of an outbox lane (`platform:chat id`) may take a message without
    waiting for its own limit (ports.Paced); looked at again each second, as other senders
    may fill the chat's window meanwhile."""
    chat = chat_of_key(key)
    messenger = messengers.get(chat.platform) if chat is not None else None
    if chat is None or not isinstance(messenger, Paced):
        return
    while (wait := messenger.ready_in(chat)) > 0:  # noqa: ASYNC110 (time frees it, no event)
        await asyncio.sleep(min(wait, 1.0))


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
            if came:
                out.text = _.n("Thanks for coming to {title}! {n} checked in. Want to hear "
                               "when the next one is announced? Send /next.",
                               "Thanks for coming to {title}! {n} checked in. Want to hear "
                               "when the next one is announced? Send /next.", came,
                               title=meetup.title)
            else:  # nobody used /checkin: no "0 checked in"
                out.text = _("Thanks for coming to {title}! Want to hear when the next one "
                             "is announced? Send /next.", title=meetup.title)
        elif reminder.offset_minutes == DAY_BEFORE:
            venue = ", " + meetup.venue if meetup.venue else ""
            out.text = _("Tomorrow: {title}, {when}{venue}. Coming? /rsvp yes — who's coming? "
                         "/who", title=meetup.title, venue=venue,
                         when=format_when(meetup.starts_at, chapter.timezone, chapter.language))
        else:
            out.text = reminder_text(meetup, chapter, chapter.language, chapter.timezone,
                                     reminder.offset_minutes)
        out.chats = await chapter_chats(s, chapter.id)
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
    out.users = await dm_targets(s, person.id)
    if not out.users:
        return ReminderStatus.FAILED
    out.file = await calendar_once(w, meetup, chapter, person.id)
    return out


async def calendar_once(w: Work, meetup: Meetup, chapter: Chapter,
                        person_id: int) -> OutFile | None:
    """The meetup's calendar file for a person who doesn't have this version of it yet
    (the first reminder brings it; after an /edit, the new version); None when they do."""
    sent = await w.s.scalar(select(CalendarSent).where(CalendarSent.person_id == person_id,
                                                       CalendarSent.meetup_id == meetup.id))
    if sent is not None and sent.sequence >= meetup.sequence:
        return None
    if sent is None:
        w.s.add(CalendarSent(person_id=person_id, meetup_id=meetup.id,
                             sequence=meetup.sequence, sent_at=w.now))
    else:
        sent.sequence, sent.sent_at = meetup.sequence, w.now
    return meetup_calendar(meetup, chapter, w.now)


async def pending_count(w: Work) -> int:
    """Outbox rows still to send on the platforms this process serves."""
    return await w.s.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.platform.in_(list(w.svc.messengers)))) or 0


async def repeat_recent_edits(units: Units, window: timedelta) -> int:
    """At start: queue again the latest edit of each message edited in the last `window`.
    An adapter may pace edits (Telegram's coalesces them for a few seconds), so one marked
    sent just before a crash may never have reached the platform; an edit sent twice is
    harmless, one lost leaves an announcement's counts or its "cancelled" wrong for good.

    The rows are written unclaimed, not sent here: this runs before the adapters start (a
    Matrix send waits for the login, which would never come), and the first wake-up after
    they started sends them. A message with an edit still pending keeps that one: it is newer.
    """
    async with units() as w:
        rows = (await w.s.execute(
            select(OutboxMessage.chat_key, OutboxMessage.target_message_id,
                   OutboxMessage.platform, OutboxMessage.payload)
            .where(OutboxMessage.kind == OutboxKind.EDIT,
                   OutboxMessage.status == OutboxStatus.SENT,
                   OutboxMessage.sent_at >= w.now - window)
            .order_by(OutboxMessage.id))).all()
        pending = {(key, target) for key, target in (await w.s.execute(
            select(OutboxMessage.chat_key, OutboxMessage.target_message_id)
            .where(OutboxMessage.kind == OutboxKind.EDIT,
                   OutboxMessage.status == OutboxStatus.PENDING))).all()}
        latest = {(key, target): (platform, payload) for key, target, platform, payload in rows
                  if (key, target) not in pending}
        for (key, target), (platform, payload) in latest.items():
            w.s.add(OutboxMessage(kind=OutboxKind.EDIT, platform=platform, chat_key=key,
                                  target_message_id=target, payload=payload,
                                  status=OutboxStatus.PENDING, attempts=0, created_at=w.now,
                                  claimed_until=None))
        return len(latest)
