"""Housekeeping keeps the tables from growing for ever: what is done and old is deleted, in
small batches; what is still needed (a pending message, an unhandled update, the posts of a
meetup to come or a poll still open) is never."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, insert, select

from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.messages import RsvpAnswer
from bot.core.settings import CoreSettings
from bot.db.models import (
    HandledMessage,
    InboxUpdate,
    Meetup,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Poll,
    PostedMessage,
    PostKind,
)
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter, local


async def count(db: Database, model: type, *where: object) -> int:
    async with db.transaction() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_prune_deletes_what_is_old_and_keeps_what_is_needed(
        db: Database, clock: VirtualClock) -> None:
    messenger = RecordingMessenger(started={"bob", "carol"})
    core = Core(db, {messenger.platform: messenger}, clock, CoreSettings(prune_batch=3))
    chat = Chat(core, messenger, clock)
    await chapter(chat)
    await chat.say("carol", "/follow")  # each meetup is also a post in her private chat
    # Over long ago: a meetup, and a poll closed.
    await chat.say("alice", f"/newmeetup Old borrel; {local(chat, timedelta(days=2))}")
    await chat.say("bob", "/rsvp yes")
    await chat.say("alice", "/poll Which venue?; Verkadefabriek | Café de Unie")
    await chat.say("alice", "/closepoll")
    await chat.advance(timedelta(days=40))
    # Still to come, and still open.
    await chat.say("alice", f"/newmeetup New borrel; {local(chat, timedelta(days=5))}")
    await chat.say("alice", "/poll Which day?; Friday | Saturday")
    async with db.transaction() as s:
        old_meetup = await s.scalar(select(Meetup.id).where(Meetup.title == "Old borrel"))
        new_meetup = await s.scalar(select(Meetup.id).where(Meetup.title == "New borrel"))
        open_poll = await s.scalar(select(Poll.id).where(Poll.closed_at.is_(None)))
        old = clock.now() - timedelta(days=8)
        # A message owed since long ago to a platform this process does not serve: pending.
        await s.execute(insert(OutboxMessage).values(
            kind=OutboxKind.TEXT, platform="elsewhere", chat_key="elsewhere:1",
            payload=json.dumps({"chat": "1", "text": "hi", "buttons": []}),
            status=OutboxStatus.PENDING, attempts=0, created_at=old - timedelta(days=30)))
        await s.execute(insert(InboxUpdate), [
            {"platform": "fake", "update_id": 1, "payload": "{}", "received_at": old,
             "handled_at": old},
            {"platform": "fake", "update_id": 2, "payload": "{}", "received_at": old,
             "handled_at": None},  # never handled: kept, however old
            {"platform": "fake", "update_id": 3, "payload": "{}", "received_at": clock.now(),
             "handled_at": clock.now()}])
        await s.execute(insert(HandledMessage), [
            {"platform": "fake", "chat_id": "group", "message_id": str(i), "handled_at": old}
            for i in range(7)] + [
            {"platform": "fake", "chat_id": "group", "message_id": "new",
             "handled_at": clock.now()}])
    sent_before = await count(db, OutboxMessage, OutboxMessage.status == OutboxStatus.SENT)
    recent = await count(db, OutboxMessage, OutboxMessage.status == OutboxStatus.SENT,
                         OutboxMessage.sent_at >= clock.now() - timedelta(days=7))
    assert sent_before > recent > 0

    pruned = await core.prune()

    print(f"\npruned: {pruned}")
    assert pruned.outbox == sent_before - recent
    assert await count(db, OutboxMessage, OutboxMessage.status == OutboxStatus.PENDING) == 1
    assert await count(db, OutboxMessage) == recent + 1
    assert pruned.inbox == 1
    assert sorted(await _ids(db, InboxUpdate.update_id)) == [2, 3]
    assert pruned.handled == 7
    assert await _ids(db, HandledMessage.message_id) == ["new"]
    assert await count(db, PostedMessage, PostedMessage.meetup_id == old_meetup) == 0
    assert await count(db, PostedMessage, PostedMessage.kind == PostKind.POLL,
                       PostedMessage.poll_id != open_poll) == 0
    assert await count(db, PostedMessage, PostedMessage.meetup_id == new_meetup) == 2
    assert await count(db, PostedMessage, PostedMessage.poll_id == open_poll) == 1
    assert pruned.posts == 3

    # The current announcement still takes a reaction, the open poll a vote.
    async with db.transaction() as s:
        announcement = await s.scalar(select(PostedMessage.message_id).where(
            PostedMessage.meetup_id == new_meetup, PostedMessage.kind == PostKind.ANNOUNCEMENT))
    assert announcement is not None
    messenger.take()
    await chat.react("carol", announcement, RsvpAnswer.YES)
    assert any("Carol is going to New borrel" in s.text for s in messenger.sent), messenger.sent
    assert (await core.prune()).total == 0  # nothing more to do


async def _ids(db: Database, column: object) -> list[object]:
    async with db.transaction() as s:
        return list(await s.scalars(select(column)))  # type: ignore[call-overload]


async def test_the_housekeeping_job_prunes(db: Database, clock: VirtualClock) -> None:
    from bot.schedule import HOUSEKEEPING_JOB, Wakeups

    messenger = RecordingMessenger()
    wakeups = Wakeups(clock)
    core = Core(db, {messenger.platform: messenger}, clock, CoreSettings(),
                due_changed=wakeups.notify)
    wakeups.bind(core)
    async with db.transaction() as s:
        await s.execute(insert(HandledMessage).values(
            platform="fake", chat_id="group", message_id="1",
            handled_at=clock.now() - timedelta(days=8)))
    await wakeups.start()
    try:
        job = wakeups.scheduler.get_job(HOUSEKEEPING_JOB)
        assert job is not None
        await job.func()
    finally:
        await wakeups.stop()
    assert await count(db, HandledMessage) == 0
