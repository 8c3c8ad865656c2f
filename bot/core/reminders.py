"""Reminder rows: written when someone says yes (and for the chapter's chats when a date is
set), removed when they no longer apply. `delivery` sends them when due, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, delete, insert, select

from bot.core.dates import parse_offsets
from bot.core.i18n import format_duration, format_span, translator
from bot.core.rules import reminder_times
from bot.core.settings import CoreSettings
from bot.core.text import defuse
from bot.core.work import Work
from bot.db.models import (
    Chapter,
    Meetup,
    Person,
    Poll,
    Reminder,
    ReminderKind,
    ReminderStatus,
)

FOLLOW_UP_AFTER = 4 * 60  # minutes after the start: the "thanks, sign up for the next" line
DAY_BEFORE = 24 * 60
POLL_NUDGE_BEFORE = 12 * 60  # minutes before a date poll closes: "n have voted; closes at"


# Built once: every answer runs them.
_REMINDERS_OF = select(Reminder.id, Reminder.offset_minutes, Reminder.due_at,
                       Reminder.status).where(Reminder.meetup_id == bindparam("meetup"),
                                              Reminder.person_id == bindparam("person"))
_DROP_STALE = (delete(Reminder).where(Reminder.id.in_(bindparam("ids", expanding=True)),
                                      Reminder.status == ReminderStatus.PENDING)
               .returning(Reminder.offset_minutes)
               .execution_options(synchronize_session=False))
_ADD_REMINDERS = insert(Reminder)
_CLEAR_PERSON = (delete(Reminder).where(
    Reminder.meetup_id == bindparam("meetup"), Reminder.person_id == bindparam("person"),
    Reminder.status == ReminderStatus.PENDING).execution_options(synchronize_session=False))


def offsets_for(person: Person, chapter: Chapter, settings: CoreSettings) -> list[int]:
    if person.reminder_offsets == "off":
        return []
    for text in (person.reminder_offsets, chapter.reminder_offsets):
        if text:
            return parse_offsets(text)
    return list(settings.reminder_offsets)


async def schedule_person(w: Work, meetup: Meetup, person: Person, chapter: Chapter) -> None:
    """Make the pending reminders of one person for one meetup match their settings.
    Reminders already sent stay as they are; one whose time has passed is not written; a
    pending one that is still right is left alone (answering "yes" again costs one read)."""
    assert meetup.starts_at is not None
    wanted = dict(reminder_times(meetup.starts_at, offsets_for(person, chapter, w.svc.settings),
                                 w.now))
    rows = (await w.s.execute(_REMINDERS_OF,
                              {"meetup": meetup.id, "person": person.id})).all()
    stale = [row_id for row_id, offset, due, status in rows
             if status == ReminderStatus.PENDING and wanted.get(offset) != due]
    gone: set[int] = set()
    if stale:  # one the scheduler took up meanwhile (no longer pending) stays, and counts
        gone = set(await w.s.scalars(_DROP_STALE, {"ids": stale}))
    have = {offset for _id, offset, _due, _status in rows} - gone
    missing = {offset: due for offset, due in wanted.items() if offset not in have}
    if missing:
        await w.s.execute(_ADD_REMINDERS, [
            {"meetup_id": meetup.id, "person_id": person.id, "kind": ReminderKind.PERSON,
             "offset_minutes": offset, "due_at": due, "status": ReminderStatus.PENDING}
            for offset, due in missing.items()])
        w.svc.due_changed(min(missing.values()))


async def clear_person(w: Work, meetup_id: int, person_id: int) -> None:
    await w.s.execute(_CLEAR_PERSON, {"meetup": meetup_id, "person": person_id})


async def schedule_group(w: Work, meetup: Meetup) -> None:
    """The chapter's reminder before the meetup, and the follow-up after it."""
    assert meetup.starts_at is not None
    rows = [(ReminderKind.GROUP, w.svc.settings.group_reminder_offset),
            (ReminderKind.FOLLOW_UP, -FOLLOW_UP_AFTER)]
    for kind, offset in rows:
        for _offset, due in reminder_times(meetup.starts_at, [offset], w.now):
            w.s.add(Reminder(meetup_id=meetup.id, person_id=None, kind=kind,
                             offset_minutes=offset, due_at=due, status=ReminderStatus.PENDING))
            w.svc.due_changed(due)


async def schedule_poll_nudge(w: Work, meetup: Meetup, poll: Poll) -> None:
    """The nudge 12 hours before a date poll closes (bot/core/nudges.py); none for a poll
    that closes sooner. Its offset is counted back from the poll's close, not the start."""
    due = poll.closes_at - timedelta(minutes=POLL_NUDGE_BEFORE)
    if due <= w.now:
        return
    w.s.add(Reminder(meetup_id=meetup.id, person_id=None, kind=ReminderKind.POLL_NUDGE,
                     offset_minutes=POLL_NUDGE_BEFORE, due_at=due,
                     status=ReminderStatus.PENDING))
    w.svc.due_changed(due)


async def clear_poll_nudge(w: Work, meetup_id: int) -> None:
    """The poll closed early (/closepoll, ended in Element): no nudge."""
    await w.s.execute(delete(Reminder).where(Reminder.meetup_id == meetup_id,
                                             Reminder.kind == ReminderKind.POLL_NUDGE,
                                             Reminder.status == ReminderStatus.PENDING))


async def clear_meetup(w: Work, meetup_id: int) -> None:
    await w.s.execute(delete(Reminder).where(Reminder.meetup_id == meetup_id,
                                             Reminder.status == ReminderStatus.PENDING))


def reminder_text(meetup: Meetup, chapter: Chapter, language: str, timezone: str,
                  offset_minutes: int) -> str:
    _ = translator(language)
    assert meetup.starts_at is not None
    lines = [
        _("Reminder: {title} starts in {left}.", title=meetup.title,
          left=format_duration(offset_minutes, language)),
        _("When: {when}", when=format_span(meetup.starts_at, meetup.ends_at, timezone,
                                           language)),
    ]
    if meetup.venue:
        lines.append(_("Where: {venue}", venue=meetup.venue))
    if meetup.online_link:
        lines.append(_("Online: {link}", link=meetup.online_link))
    if meetup.about:
        lines.append(defuse(f"📝 {meetup.about}"))
    if meetup.hashtag:
        lines.append(f"🏷 {meetup.hashtag}")
    lines.append(_("Chapter: {name}", name=chapter.name))
    lines.append(_("Can't make it? Send /rsvp no in the group, so someone on the waitlist "
                   "gets your seat."))
    return "\n".join(lines)
