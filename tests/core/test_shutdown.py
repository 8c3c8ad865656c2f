"""Shutting down: the core sends what it owes until the deadline, then stops, records what
went out, and leaves the rest to the next start, which sends it at once and once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.models import OutboxMessage, OutboxStatus
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter, local

MEMBERS = [f"member{i}" for i in range(40)]


class Slow(RecordingMessenger):
    """Each DM takes a second of the virtual clock; the shutdown begins at the 5th."""

    def __init__(self, clock: VirtualClock, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.clock = clock
        self.signalled = asyncio.Event()

    async def send_dm(self, user, text, file=None, *, key=None):  # type: ignore[no-untyped-def]
        self.clock.advance(timedelta(seconds=1))
        if len([s for s in self.sent if s.kind == "dm"]) == 4:
            self.signalled.set()
        await asyncio.sleep(0)
        return await super().send_dm(user, text, file, key=key)


async def test_drain_stops_at_the_deadline_and_the_next_start_sends_the_rest_at_once(
        db_url: str, db: Database, clock: VirtualClock) -> None:
    slow = Slow(clock)
    core = Core(db, {slow.platform: slow}, clock, CoreSettings())
    chat = Chat(core, slow, clock)
    await chapter(chat)
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=5))}")
    for name in MEMBERS:
        await chat.dm(name, "/start")
        await chat.say(name, "/rsvp yes")
    await chat.say("alice", "/cancel")  # "really?"
    slow.take()
    cancel = asyncio.create_task(chat.say("alice", "/cancel yes"))
    await slow.signalled.wait()  # SIGTERM: the adapters stop reading; the fan-out goes on
    deadline = clock.now() + timedelta(seconds=10)
    left = await core.drain(deadline)
    await cancel
    before = [s.to for s in slow.sent if s.kind == "dm"]
    assert clock.now() <= deadline + timedelta(seconds=1)
    assert 5 <= len(before) < len(MEMBERS)
    assert left == len(MEMBERS) - len(before)
    async with db.transaction() as s:
        unclaimed = list(await s.scalars(select(OutboxMessage.claimed_until).where(
            OutboxMessage.status == OutboxStatus.PENDING)))
    assert unclaimed == [None] * left  # released: no lease to wait out
    await db.dispose()

    again = Database(db_url)
    second = RecordingMessenger(started=set(slow.started))
    restarted = Core(again, {second.platform: second}, clock, CoreSettings())
    try:
        await restarted.run_due()  # at start, without waiting for any lease
    finally:
        await again.dispose()
    told = Counter(before + [s.to for s in second.sent if s.kind == "dm"])
    assert set(told) == set(MEMBERS) and set(told.values()) == {1}
