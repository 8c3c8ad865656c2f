"""Copies of the bot on one database: a poll closed by an organiser at the very moment the
scheduler closes it is announced once, two polls opened at once leave one open, a long fan-out
is not sent twice, and a Telegram-only and a Matrix-only copy together serve a chapter linked
across both."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.models import OutboxMessage, OutboxStatus, Reminder, ReminderStatus
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter

ROUNDS = 50


async def test_closepoll_racing_the_schedulers_close_announces_one_result(
        db_url: str, db: Database, clock: VirtualClock) -> None:
    messenger = RecordingMessenger()
    first = Core(db, {messenger.platform: messenger}, clock, CoreSettings())
    other_db = Database(db_url)
    second = Core(other_db, {messenger.platform: messenger}, clock, CoreSettings())
    chat = Chat(first, messenger, clock)
    try:
        await chapter(chat)
        for round_ in range(ROUNDS):
            await chat.say("alice", f"/poll Round {round_}?; Yes | No")
            clock.advance(timedelta(days=3))  # past its closing time
            messenger.take()
            await asyncio.gather(chat.say("alice", "/closepoll"), second.run_due())
            results = [s for s in messenger.take()
                       if s.kind == "text" and s.text.startswith("Poll closed")]
            assert len(results) == 1, f"round {round_}: {len(results)} results"
    finally:
        await other_db.dispose()


async def test_two_polls_opened_at_once_leave_one_open(db_url: str, db: Database,
                                                       clock: VirtualClock) -> None:
    messenger = RecordingMessenger()
    first = Core(db, {messenger.platform: messenger}, clock, CoreSettings())
    other_db = Database(db_url)
    second = Core(other_db, {messenger.platform: messenger}, clock, CoreSettings())
    chat = Chat(first, messenger, clock)
    twin = Chat(second, messenger, clock)
    try:
        await chapter(chat)
        messenger.take()
        await asyncio.gather(chat.say("alice", "/poll Where?; Here | There"),
                             twin.say("alice", "/poll When?; Now | Later"))
    finally:
        await other_db.dispose()
    sent = messenger.take()
    assert len([s for s in sent if s.kind == "poll"]) == 1
    assert [s.text for s in sent if "still open" in s.text] == [
        "A poll is still open. Close it first with /closepoll."]


class Slow(RecordingMessenger):
    """Each DM takes five seconds (a platform's rate limit), during which the other copy of
    the bot looks for messages nobody is sending."""

    clock: VirtualClock | None = None
    other: Core | None = None

    async def send_dm(self, user, text, file=None, *, key=None):  # type: ignore[no-untyped-def]
        assert self.clock is not None and self.other is not None
        self.clock.advance(timedelta(seconds=5))
        await self.other.run_due()
        return await super().send_dm(user, text, file, key=key)


async def test_a_long_fan_out_keeps_its_claim_so_the_other_copy_sends_nothing_twice(
        db_url: str, db: Database, clock: VirtualClock) -> None:
    members = [f"member{i}" for i in range(30)]
    slow = Slow(started=set(members))
    first = Core(db, {slow.platform: slow}, clock, CoreSettings())
    other_db = Database(db_url)
    helper = RecordingMessenger(started=set(members))
    second = Core(other_db, {helper.platform: helper}, clock, CoreSettings())
    chat = Chat(first, slow, clock)
    try:
        await chapter(chat)
        await chat.say("alice", "/newmeetup Borrel; 2027-01-15 19:30")
        for name in members:
            await chat.say(name, "/rsvp yes")
        slow.clock, slow.other = clock, second
        await chat.say("alice", "/cancel")
        await chat.say("alice", "/cancel yes")  # 30 DMs: 150 s, five times the lease
    finally:
        await other_db.dispose()
    told = [s.to for s in slow.sent + helper.sent if s.kind == "dm"]
    assert sorted(told) == sorted(members)


async def test_a_telegram_copy_and_a_matrix_copy_serve_one_chapter_across_both(
        db_url: str, db: Database, clock: VirtualClock) -> None:
    tg, mx = RecordingMessenger(platform="telegram"), RecordingMessenger(platform="matrix")
    tg_copy = Core(db, {"telegram": tg}, clock, CoreSettings())
    mx_db = Database(db_url)
    mx_copy = Core(mx_db, {"matrix": mx}, clock, CoreSettings())
    group = Chat(tg_copy, tg, clock, chat_id="-100", admins=["alice"])
    room = Chat(mx_copy, mx, clock, chat_id="!room:localhost", admins=["mia"])

    async def both_sweep() -> None:  # each copy's scheduler looks for rows it can send
        await tg_copy.run_due()
        await mx_copy.run_due()

    try:
        await group.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
        await group.dm("alice", "/start")
        await group.say("alice", "/link")
        await room.say("mia", tg.dms("alice")[-1].text.splitlines()[1])
        await room.dm("carol", "/start")  # carol is on Matrix only
        await group.dm("bob", "/start")  # bob on Telegram only
        await room.say("mia", "/newmeetup Tweetup; 2027-01-15 19:30 | 2027-01-16 19:30")
        await both_sweep()
        assert [s.kind for s in tg.sent].count("poll") == 1  # posted by the Telegram copy
        assert [s.kind for s in mx.sent].count("poll") == 1
        await group.say("alice", "/closepoll")
        await both_sweep()
        for messenger in (tg, mx):
            assert len([s for s in messenger.sent if "The poll is closed" in s.text]) == 1
        await group.say("bob", "/rsvp yes")
        await room.say("carol", "/rsvp yes")
        clock.set(datetime(2027, 1, 14, 19, 30, tzinfo=UTC))  # the day before
        await both_sweep()
        await both_sweep()
        assert [s.to for s in tg.sent if s.kind == "dm" and "Reminder" in s.text] == ["bob"]
        assert [s.to for s in mx.sent if s.kind == "dm" and "Reminder" in s.text] == ["carol"]
        for messenger in (tg, mx):
            assert len([s for s in messenger.sent if s.text.startswith("Tomorrow")]) == 1
        await group.say("alice", "/cancel")
        await group.say("alice", "/cancel yes")
        await both_sweep()
        assert [s.to for s in mx.sent if s.kind == "dm" and "cancelled" in s.text] == ["carol"]
        assert [s.to for s in tg.sent if s.kind == "dm" and "cancelled" in s.text] == ["bob"]
    finally:
        await mx_db.dispose()
    async with db.transaction() as s:
        states = set(await s.scalars(select(OutboxMessage.status)))
        reminders = set(await s.scalars(select(Reminder.status)))
    assert OutboxStatus.FAILED not in states and OutboxStatus.PENDING not in states
    assert ReminderStatus.FAILED not in reminders
