"""Issue 10, isolation in the scheduler and the deliverer: a poll close or a reminder that
fails every time is tried a bounded number of times (counted in its row), then given up with a
log line naming it; the other chapters' polls close, their reminders go out, and their chats
are answered meanwhile.

The poison is a chapter whose timezone the tz database no longer knows (a zone renamed in an
upgrade, or a row edited by hand): every text with a date in it fails."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.core.settings import CoreSettings
from bot.db.models import (
    Chapter,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Poll,
    Reminder,
    ReminderStatus,
)
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import local

TRIES = CoreSettings().max_attempts


async def two_chapters(chat: Chat) -> Chat:
    other = Chat(chat.core, chat.messenger, chat.clock, chat_id="other", admins=("anna",))
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await other.say("anna", "/setup SMC Eindhoven; Eindhoven; Europe/Amsterdam; en")
    return other


async def break_timezone(db: Database, name: str) -> None:
    async with db.transaction() as s:
        await s.execute(update(Chapter).where(Chapter.name == name)
                        .values(timezone="Europe/Atlantis"))


async def test_a_poll_that_fails_to_close_is_given_up_and_the_others_close(
        chat: Chat, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    other = await two_chapters(chat)
    dates = f"{local(chat, timedelta(days=5))} | {local(chat, timedelta(days=6))}"
    await chat.say("alice", f"/newmeetup Borrel; {dates}")
    await other.say("anna", f"/newmeetup Borrel; {dates}")
    await break_timezone(db, "SMC Den Bosch")
    caplog.set_level(logging.INFO)

    out = await chat.advance(timedelta(hours=49))
    assert any("Borrel is on" in s.text for s in out if s.to == "other")
    assert not any("Borrel is on" in s.text for s in out if s.to == "group")
    assert len(await other.say("carol", "/who")) == 1
    async with db.transaction() as s:
        polls = {p.chapter_id: p for p in await s.scalars(select(Poll))}
    broken, fine = polls[1], polls[2]
    assert fine.closed_at is not None
    assert broken.closed_at is None and broken.close_attempts == TRIES
    # (The broken chapter's poll nudge, 12 hours before, was given up the same way.)
    assert [r.getMessage() for r in caplog.records if "given up" in r.getMessage()
            and r.getMessage().startswith("closing poll")] == [
        f"closing poll {broken.id} failed {TRIES} times; given up: it stays open until an "
        "organiser sends /closepoll"]
    # The scheduler has nothing more for it: it doesn't spin on it.
    assert await chat.core.next_due_at() is None or (
        await chat.core.next_due_at() > chat.clock.now())


async def test_reminders_that_fail_every_time_are_given_up_and_the_others_sent(
        chat: Chat, db: Database, messenger: RecordingMessenger,
        caplog: pytest.LogCaptureFixture) -> None:
    other = await two_chapters(chat)
    when = local(chat, timedelta(days=3))
    await chat.say("alice", f"/newmeetup Borrel; {when}")
    await other.say("anna", f"/newmeetup Borrel; {when}")
    await chat.dm("bob", "/start")
    await chat.say("bob", "/rsvp yes")
    await other.dm("carol", "/start")
    await other.say("carol", "/rsvp yes")
    await break_timezone(db, "SMC Den Bosch")
    caplog.set_level(logging.INFO)

    await chat.advance(timedelta(days=2, hours=1))  # past the 24-hour reminders
    assert [s.text.splitlines()[0] for s in messenger.dms("carol")] == [
        "Reminder: Borrel starts in 1 day."]
    assert messenger.dms("bob") == []
    assert any(s.to == "other" and s.text.startswith("Tomorrow: Borrel") for s in messenger.sent)
    async with db.transaction() as s:
        broken = list(await s.scalars(select(Reminder).where(Reminder.meetup_id == 1,
                                                              Reminder.due_at <= chat.clock.now())))
    assert broken and {(r.status, r.attempts) for r in broken} == {
        (ReminderStatus.FAILED, TRIES)}
    given_up = sorted(r.getMessage() for r in caplog.records if "given up" in r.getMessage())
    assert given_up == sorted(f"reminder {r.id} failed {TRIES} times; given up" for r in broken)


async def test_an_outbox_row_tried_too_often_is_given_up_and_its_chat_goes_on(
        chat: Chat, db: Database, messenger: RecordingMessenger,
        caplog: pytest.LogCaptureFixture) -> None:
    """A row whose sending killed the process every time (its claim ran out unrecorded, as
    often as allowed) is marked failed and never sent; the rows after it in its chat are."""
    other = await two_chapters(chat)
    messenger.take()
    async with db.transaction() as s:
        s.add_all([
            OutboxMessage(kind=OutboxKind.TEXT, platform=messenger.platform,
                          chat_key=f"{messenger.platform}:other",
                          payload=f'{{"chat": "other", "text": "{text}", "buttons": []}}',
                          status=OutboxStatus.PENDING, attempts=attempts,
                          created_at=chat.clock.now(), claimed_until=None)
            for text, attempts in (("poison", TRIES), ("after it", 0))])
    caplog.set_level(logging.INFO)
    await chat.core.run_due()
    assert [s.text for s in messenger.sent] == ["after it"]
    assert len(await other.say("carol", "/help")) == 1
    async with db.transaction() as s:
        poison = (await s.scalars(select(OutboxMessage).where(
            OutboxMessage.payload.contains("poison")))).one()
    assert poison.status == OutboxStatus.FAILED
    assert any(r.getMessage() == f"outbox row {poison.id} (text to {messenger.platform}:other) "
               f"tried {TRIES} times; given up" for r in caplog.records)
