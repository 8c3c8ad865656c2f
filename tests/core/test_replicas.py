"""Two copies of the bot on one database: a poll closed by an organiser at the very moment the
scheduler closes it is announced once, and two polls opened at once leave one open."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.settings import CoreSettings
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
