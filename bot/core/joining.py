"""Accounts of one person: two people become one (`join`), and one person's accounts apart
again (`split`).

Joining moves everything the other person owns to the person kept, table by table
(`PERSON_COLUMNS` names every column that points at a person; a test keeps it complete).
Where both own a row that may exist once (an answer for a meetup, a membership, a vote in a
poll), the duplicate is deleted before the rest is moved, so no unique constraint breaks on
SQLite or PostgreSQL. Splitting leaves everything with the account that asked; each other
account starts as a person of its own."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import InstrumentedAttribute

from bot.core.announce import refresh_announcements
from bot.core.reminders import clear_person, schedule_person
from bot.core.rsvp import promote
from bot.core.rules import Answer, keeps_first
from bot.core.work import Work
from bot.db.models import (
    AccountCode,
    CalendarSent,
    CalendarToken,
    Chapter,
    ChatAdmin,
    Confirmation,
    DmHint,
    Follow,
    Identity,
    Interest,
    Meetup,
    MeetupStatus,
    Membership,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Person,
    Poll,
    PollOption,
    Reminder,
    ReminderStatus,
    Rsvp,
    RsvpStatus,
    Vote,
)

# Every (table, column) that points at a person, and so is moved by `join`.
PERSON_COLUMNS = frozenset({
    ("identities", "person_id"), ("account_codes", "person_id"),
    ("memberships", "person_id"), ("memberships", "organiser_added_by"),
    ("chat_admins", "person_id"), ("confirmations", "person_id"),
    ("meetups", "created_by"), ("votes", "person_id"), ("rsvps", "person_id"),
    ("reminders", "person_id"), ("interests", "person_id"), ("follows", "person_id"),
    ("calendar_sends", "person_id"), ("dm_hints", "person_id"),
    ("calendar_tokens", "person_id"),
})

Owned = TypeVar("Owned", ChatAdmin, Interest, Follow, DmHint, Confirmation)

# Settings the person kept has; the other's fill only those left empty.
_SETTINGS = ("language", "timezone", "intro", "reminder_offsets", "remind_via")


@dataclass(frozen=True)
class KeptAnswer:
    """Both accounts had answered for an upcoming meetup: the answer kept and the one dropped."""

    title: str
    kept: RsvpStatus
    dropped: RsvpStatus


@dataclass(frozen=True)
class KeptVotes:
    """Both accounts had voted in an open poll: the options of the set kept (the later one)."""

    question: str
    options: list[str]


@dataclass
class Joined:
    answers: list[KeptAnswer] = field(default_factory=list)
    votes: list[KeptVotes] = field(default_factory=list)


async def join(w: Work, keeper: Person, other: Person) -> Joined:
    """Make `other`'s accounts and everything `other` owns `keeper`'s, and delete `other`."""
    s, k, o = w.s, keeper.id, other.id
    joined = Joined()
    await s.flush()
    await s.execute(update(Identity).where(Identity.person_id == o).values(person_id=k)
                    .execution_options(synchronize_session="fetch"))
    joined.votes = await _join_votes(w, k, o)
    changed = await _join_rsvps(w, k, o, joined)
    await _join_memberships(w, k, o)
    await _join_reminders(w, k, o)
    await _move_once(w, ChatAdmin, ChatAdmin.binding_id, k, o)
    await _move_once(w, Interest, Interest.chapter_id, k, o)
    await _move_once(w, Follow, Follow.chapter_id, k, o)
    await _move_once(w, DmHint, DmHint.meetup_id, k, o)
    await _join_calendar_sends(w, k, o)
    await _join_calendar_tokens(w, k, o)
    await _move_once(w, Confirmation, Confirmation.chapter_id, k, o, Confirmation.command)
    await s.execute(delete(AccountCode).where(AccountCode.person_id.in_([k, o])))
    await s.execute(update(Meetup).where(Meetup.created_by == o).values(created_by=k)
                    .execution_options(synchronize_session=False))
    await _readdress_dms(w, k, o)
    for name in _SETTINGS:
        if getattr(keeper, name) is None:
            setattr(keeper, name, getattr(other, name))
    await s.delete(other)
    await s.flush()
    await _replan(w, keeper, changed)
    return joined


async def _join_votes(w: Work, k: int, o: int) -> list[KeptVotes]:
    """In a poll both voted in, the later set of votes stays."""
    s = w.s
    both = list(await s.scalars(
        select(Vote.poll_id).where(Vote.person_id.in_([k, o])).group_by(Vote.poll_id)
        .having(func.count(func.distinct(Vote.person_id)) == 2)))
    kept: list[KeptVotes] = []
    for poll_id in both:
        latest = dict((await s.execute(
            select(Vote.person_id, func.max(Vote.voted_at)).where(
                Vote.poll_id == poll_id, Vote.person_id.in_([k, o]))
            .group_by(Vote.person_id))).all())
        winner, loser = (o, k) if latest[o] > latest[k] else (k, o)
        await s.execute(delete(Vote).where(Vote.poll_id == poll_id, Vote.person_id == loser))
        poll = await s.get_one(Poll, poll_id)
        if poll.closed_at is None:
            labels = list(await s.scalars(
                select(PollOption.label).join(Vote, Vote.option_id == PollOption.id)
                .where(Vote.poll_id == poll_id, Vote.person_id == winner)
                .order_by(PollOption.position)))
            kept.append(KeptVotes(poll.question, labels))
    await s.execute(update(Vote).where(Vote.person_id == o).values(person_id=k)
                    .execution_options(synchronize_session=False))
    return kept


async def _join_rsvps(w: Work, k: int, o: int, joined: Joined) -> dict[int, bool]:
    """One answer per meetup: the stronger stays (rules.keeps_first). Returns the meetups
    whose answers changed, each with whether a seat or waitlist place was given up."""
    s = w.s
    mine = {r.meetup_id: r for r in await s.scalars(select(Rsvp).where(Rsvp.person_id == k))}
    changed: dict[int, bool] = {}
    for theirs in list(await s.scalars(select(Rsvp).where(Rsvp.person_id == o))):
        changed.setdefault(theirs.meetup_id, False)
        ours = mine.get(theirs.meetup_id)
        if ours is None:
            theirs.person_id = k
            continue
        keep_ours = keeps_first(Answer(ours.status, ours.guests, ours.waitlist_seq),
                                Answer(theirs.status, theirs.guests, theirs.waitlist_seq))
        kept, dropped = (ours, theirs) if keep_ours else (theirs, ours)
        freed = dropped.status in (RsvpStatus.YES, RsvpStatus.WAITLIST)
        changed[theirs.meetup_id] = freed
        meetup = await s.get_one(Meetup, theirs.meetup_id)
        if meetup.status == MeetupStatus.SCHEDULED and meetup.starts_at and \
                meetup.starts_at > w.now:
            joined.answers.append(KeptAnswer(meetup.title, kept.status, dropped.status))
        checked_in = [t for t in (ours.checked_in_at, theirs.checked_in_at) if t is not None]
        ours.status, ours.guests, ours.waitlist_seq, ours.updated_at = (
            kept.status, kept.guests, kept.waitlist_seq, kept.updated_at)
        ours.checked_in_at = min(checked_in) if checked_in else None
        await s.delete(theirs)
    await s.flush()
    return changed


async def _join_memberships(w: Work, k: int, o: int) -> None:
    """One membership per chapter; an organiser on either account organises."""
    s = w.s
    mine = {m.chapter_id: m for m in await s.scalars(
        select(Membership).where(Membership.person_id == k))}
    for theirs in list(await s.scalars(select(Membership).where(Membership.person_id == o))):
        ours = mine.get(theirs.chapter_id)
        if ours is None:
            theirs.person_id = k
            continue
        if theirs.is_organiser and not ours.is_organiser:
            ours.is_organiser, ours.organiser_reason = True, theirs.organiser_reason
            ours.organiser_added_by, ours.organiser_since = (
                theirs.organiser_added_by, theirs.organiser_since)
        ours.joined_at = min(ours.joined_at, theirs.joined_at)
        await s.delete(theirs)
    await s.flush()
    await s.execute(update(Membership).where(Membership.organiser_added_by == o)
                    .values(organiser_added_by=k).execution_options(synchronize_session="fetch"))


async def _join_reminders(w: Work, k: int, o: int) -> None:
    """The other's planned reminders go (they are planned again for the person kept); those
    sent or on their way move, unless the person kept has one for the same time."""
    s = w.s
    await s.execute(delete(Reminder).where(Reminder.person_id == o,
                                           Reminder.status == ReminderStatus.PENDING))
    ours = set((await s.execute(select(Reminder.meetup_id, Reminder.offset_minutes)
                                .where(Reminder.person_id == k))).all())
    for rid, meetup_id, offset in (await s.execute(
            select(Reminder.id, Reminder.meetup_id, Reminder.offset_minutes)
            .where(Reminder.person_id == o))).all():
        if (meetup_id, offset) in ours:
            await s.execute(delete(Reminder).where(Reminder.id == rid))
        else:
            await s.execute(update(Reminder).where(Reminder.id == rid).values(person_id=k)
                            .execution_options(synchronize_session=False))


async def _move_once(w: Work, model: type[Owned],
                     key: InstrumentedAttribute[int], k: int, o: int,
                     key2: InstrumentedAttribute[str] | None = None) -> None:
    """Move the other's rows to the person kept; one the person kept already has (the same
    key) is deleted first."""
    s = w.s
    cols = [key] if key2 is None else [key, key2]
    ours = set((await s.execute(select(*cols).where(model.person_id == k))).all())
    for row in list(await s.scalars(select(model).where(model.person_id == o))):
        if tuple(getattr(row, c.key) for c in cols) in ours:
            await s.delete(row)
        else:
            row.person_id = k
    await s.flush()


async def _join_calendar_tokens(w: Work, k: int, o: int) -> None:
    """One private calendar feed: the kept person's address stays; the other's moves over
    when the kept person has none (either way, subscribed calendars keep working for one)."""
    s = w.s
    if await s.scalar(select(CalendarToken.id).where(CalendarToken.person_id == k)) is None:
        await s.execute(update(CalendarToken).where(CalendarToken.person_id == o)
                        .values(person_id=k).execution_options(synchronize_session=False))
    else:
        await s.execute(delete(CalendarToken).where(CalendarToken.person_id == o))


async def _join_calendar_sends(w: Work, k: int, o: int) -> None:
    """One record per meetup, of the newest file either account got."""
    s = w.s
    mine = {c.meetup_id: c for c in await s.scalars(
        select(CalendarSent).where(CalendarSent.person_id == k))}
    for theirs in list(await s.scalars(select(CalendarSent).where(CalendarSent.person_id == o))):
        ours = mine.get(theirs.meetup_id)
        if ours is None:
            theirs.person_id = k
            continue
        if theirs.sequence > ours.sequence:
            ours.sequence, ours.sent_at = theirs.sequence, theirs.sent_at
        await s.delete(theirs)
    await s.flush()


async def _readdress_dms(w: Work, k: int, o: int) -> None:
    """DMs to the other still waiting in the outbox: a refusal must name a person who exists."""
    rows = await w.s.execute(select(OutboxMessage.id, OutboxMessage.payload).where(
        OutboxMessage.chat_key == f"dm:{o}", OutboxMessage.kind == OutboxKind.DM,
        OutboxMessage.status == OutboxStatus.PENDING))
    for row_id, raw in rows.all():
        payload = json.loads(raw)
        payload["on_failure"]["person_id"] = k
        await w.s.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(
            chat_key=f"dm:{k}", payload=json.dumps(payload, ensure_ascii=False))
            .execution_options(synchronize_session=False))


async def _replan(w: Work, keeper: Person, changed: dict[int, bool]) -> None:
    """Reminders once, from the person kept's settings; seats given up go to the waitlist;
    the announcements' counts follow."""
    s = w.s
    upcoming = (await s.execute(
        select(Meetup, Chapter, Rsvp.status).join(Rsvp, Rsvp.meetup_id == Meetup.id)
        .join(Chapter, Chapter.id == Meetup.chapter_id)
        .where(Rsvp.person_id == keeper.id, Meetup.status == MeetupStatus.SCHEDULED,
               Meetup.starts_at > w.now))).all()
    for meetup, chapter, status in upcoming:
        if status == RsvpStatus.YES:
            await schedule_person(w, meetup, keeper, chapter)
        else:
            await clear_person(w, meetup.id, keeper.id)
        if meetup.id in changed:
            if changed[meetup.id]:
                # As in rsvp.apply_rsvp: seats are decided one answer at a time.
                await s.execute(select(Meetup.id).where(Meetup.id == meetup.id)
                                .with_for_update())
                await promote(w, meetup, chapter)
            await refresh_announcements(w, meetup, chapter)


async def split(w: Work, person: Person, keep: Identity) -> list[Identity]:
    """Every account of `person` but `keep` becomes a person of its own, with the same
    settings and a plain membership of the same chapters. All else (answers, votes,
    reminders, follows, organiser rights) stays with `keep`. Returns the accounts let go."""
    s = w.s
    others = list(await s.scalars(select(Identity).where(
        Identity.person_id == person.id, Identity.id != keep.id).order_by(Identity.id)))
    chapters = list(await s.execute(select(Membership.chapter_id, Membership.joined_at).where(
        Membership.person_id == person.id)))
    for identity in others:
        alone = Person(display_name=identity.display_name, created_at=w.now,
                       **{name: getattr(person, name) for name in _SETTINGS
                          if name != "remind_via"})
        s.add(alone)
        await s.flush()
        identity.person_id = alone.id
        for chapter_id, joined_at in chapters:
            s.add(Membership(chapter_id=chapter_id, person_id=alone.id, is_organiser=False,
                             joined_at=joined_at))
    if person.remind_via is not None and person.remind_via != keep.platform:
        person.remind_via = None
    person.display_name = keep.display_name
    await s.execute(delete(AccountCode).where(AccountCode.person_id == person.id))
    await s.flush()
    return others
