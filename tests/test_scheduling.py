"""What is due lives in the database: restarts rebuild the schedule, replicas send once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update

from bot.clock import SystemClock, VirtualClock
from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.models import Reminder
from bot.db.session import Database
from bot.schedule import WAKE_JOB, Wakeups
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import local


async def meetup_with_two_going(chat: Chat, days: int = 3) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=days))}")
    for name in ("bob", "carol"):
        await chat.dm(name, "/start")
        await chat.say(name, "/rsvp yes")


async def test_a_restarted_bot_rebuilds_its_schedule_from_the_database(
        chat: Chat, db: Database, clock: VirtualClock) -> None:
    await meetup_with_two_going(chat)
    await chat.core.drain()  # the first process stops
    # A new process: a new core and scheduler on the same database, nothing carried over.
    messenger = RecordingMessenger(started={"bob", "carol"})
    wakeups = Wakeups(clock)
    core = Core(db, {messenger.platform: messenger}, clock, CoreSettings(),
                due_changed=wakeups.notify)
    wakeups.bind(core)
    await wakeups.start()
    try:
        assert wakeups.armed_for == clock.now() + timedelta(days=2)  # the group's and the 24h ones
        assert {job.id for job in wakeups.scheduler.get_jobs()} == {
            WAKE_JOB, "irl-sweep", "irl-housekeeping"}
    finally:
        await wakeups.stop()
    clock.advance(timedelta(days=2))
    await core.run_due()
    assert sorted(s.to for s in messenger.sent if s.kind == "dm") == ["bob", "carol"]


async def test_the_scheduler_wakes_the_core_on_time(db: Database) -> None:
    clock = SystemClock()
    messenger = RecordingMessenger(started={"bob"})
    wakeups = Wakeups(clock)
    core = Core(db, {messenger.platform: messenger}, clock, CoreSettings(),
                due_changed=wakeups.notify)
    wakeups.bind(core)
    chat = Chat(core, messenger, clock)  # type: ignore[arg-type]
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=2))}")
    await chat.say("bob", "/rsvp yes")
    # Pull bob's 24-hour reminder forward so that it falls due a moment from now.
    async with db.transaction() as s:
        await s.execute(update(Reminder).where(Reminder.offset_minutes == 1440,
                                               Reminder.person_id.is_not(None))
                        .values(due_at=clock.now() + timedelta(seconds=1)))
    await wakeups.start()
    try:
        assert wakeups.armed_for is not None
        assert wakeups.armed_for <= clock.now() + timedelta(seconds=1)
        for _ in range(200):
            rearmed = wakeups.armed_for is not None and wakeups.armed_for > clock.now()
            if messenger.dms("bob") and rearmed:
                break
            await asyncio.sleep(0.05)
    finally:
        await wakeups.stop()
    assert [s.text.splitlines()[0] for s in messenger.dms("bob")] == [
        "Reminder: Borrel starts in 1 day."]
    assert wakeups.armed_for is not None and wakeups.armed_for > clock.now()  # re-armed


async def test_two_replicas_send_each_reminder_once(db_url: str, db: Database) -> None:
    clock = VirtualClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    m1 = RecordingMessenger(started={f"user{i}" for i in range(60)})
    first = Core(db, {m1.platform: m1}, clock, CoreSettings(batch_size=7))
    chat = Chat(first, m1, clock)
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
    for i in range(60):
        await chat.say(f"user{i}", "/rsvp yes")
    m1.take()
    other_db = Database(db_url)
    m2 = RecordingMessenger(started=set(m1.started))
    second = Core(other_db, {m2.platform: m2}, clock, CoreSettings(batch_size=7))
    clock.advance(timedelta(days=2))
    try:
        await asyncio.gather(first.run_due(), second.run_due(), first.run_due())
    finally:
        await other_db.dispose()
    dms = [s.to for s in m1.sent + m2.sent if s.kind == "dm"]
    assert sorted(dms) == sorted(f"user{i}" for i in range(60))
    assert len([s for s in m1.sent + m2.sent if s.kind == "text"]) == 1  # the group's, once


async def test_a_hundred_thousand_pending_reminders_cost_one_job(db: Database,
                                                                clock: VirtualClock) -> None:
    messenger = RecordingMessenger()
    wakeups = Wakeups(clock)
    core = Core(db, {messenger.platform: messenger}, clock, CoreSettings(),
                due_changed=wakeups.notify)
    wakeups.bind(core)
    chat = Chat(core, messenger, clock)
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=30))}")
    first_due = clock.now() + timedelta(days=3)
    async with db.transaction() as s:
        rows = [{"meetup_id": 1, "person_id": None, "kind": "group", "offset_minutes": 10_000 + i,
                 "due_at": first_due + timedelta(seconds=i), "status": "pending"}
                for i in range(100_000)]
        for start in range(0, len(rows), 10_000):
            await s.execute(insert(Reminder), rows[start:start + 10_000])
    await wakeups.start()
    try:
        assert len(wakeups.scheduler.get_jobs()) == 3  # wake, sweep, housekeeping: not per row
        assert wakeups.armed_for == min(first_due, clock.now() + timedelta(days=29))
    finally:
        await wakeups.stop()


async def test_the_core_tells_a_bound_scheduler_what_falls_due(db: Database) -> None:
    # The scheduler's triggers run on the real time: keep what falls due in the future.
    clock = VirtualClock(datetime.now(UTC).replace(second=0, microsecond=0))
    messenger = RecordingMessenger()
    wakeups = Wakeups(clock)
    with pytest.raises(RuntimeError, match="bind"):
        await wakeups.start()
    core = Core(db, {messenger.platform: messenger}, clock, CoreSettings(),
                due_changed=wakeups.notify)
    wakeups.bind(core)
    await wakeups.start()
    try:
        assert wakeups.armed_for is None  # nothing due yet
        chat = Chat(core, messenger, clock)
        await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
        await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
        assert wakeups.armed_for == clock.now() + timedelta(days=2)  # the group's reminder
    finally:
        await wakeups.stop()
