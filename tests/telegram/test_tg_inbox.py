"""Telegram input, at least once; its effect, exactly once (issue 8, deliverable 3).

Every update is stored in the inbox table before Telegram is told it arrived (the next
getUpdates offset, or a webhook's 200), handed to python-telegram-bot, and marked handled
once its handler returned. What a stop or a crash left unhandled is handled at the next
start; an update that comes twice (Telegram sending it again, or a crash between the core's
commit and the mark) changes nothing the second time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import func, select, update

from bot.adapters.telegram import FloodLimits, TelegramAdapter, TelegramSettings
from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.messages import Button, Inbound
from bot.core.settings import CoreSettings
from bot.db.models import InboxUpdate, Meetup, Rsvp, Vote
from bot.db.session import Database
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.test_tg_webhook import SECRET, free_port
from tests.telegram.tg_support import RecordingCore, make_adapter, tg

TZ = ZoneInfo("Europe/Amsterdam")
# What the bot sends that a member sees: none of it may come twice.
ANSWERS = ("sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery",
           "sendPoll", "stopPoll", "sendDocument")


async def inbox_rows(db: Database) -> dict[int, bool]:
    """update_id -> handled, of every stored Telegram update."""
    async with db.transaction() as s:
        rows = await s.execute(select(InboxUpdate.update_id, InboxUpdate.handled_at)
                               .where(InboxUpdate.platform == "telegram"))
        return {uid: handled is not None for uid, handled in rows.all()}


async def until(condition: Callable[[], Awaitable[bool]], what: str, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.05)


async def all_handled(db: Database, fake: FakeBotAPI) -> None:
    async def done() -> bool:
        rows = await inbox_rows(db)
        return fake.pending_updates == 0 and bool(rows) and all(rows.values())

    await until(done, "every update stored and handled")


def answers(fake: FakeBotAPI) -> dict[str, int]:
    return {m: sum(r.status == 200 for r in fake.calls(m)) for m in ANSWERS}


async def test_an_update_left_waiting_at_a_stop_is_handled_at_the_next_start_once(
    fake: FakeBotAPI, db: Database, client_limits: FloodLimits
) -> None:
    """A stop while "/first" is being handled: it finishes; "/second", waiting behind it in
    the same chat, is not started but stays in the inbox. Telegram has it confirmed (it will
    never send it again); the next start handles it, and the one after that does not."""
    alice = fake.add_user("Alice")
    group = fake.add_group("SMC Veghel", members=[alice])
    gate = asyncio.Event()
    first_core = RecordingCore()

    async def slow(msg: Inbound) -> None:
        if msg.text == "/first":
            await gate.wait()

    first_core.on_message = slow
    first = make_adapter(fake, client_limits, db)
    first.bind(first_core)
    await first.start()
    try:
        fake.user_sends(alice, group, "/first")
        fake.user_sends(alice, group, "/second")
        await fake.wait_for(lambda: len(first_core.messages) == 1 and fake.pending_updates == 0,
                            what="/first being handled, /second received")
        stopping = asyncio.create_task(first.stop())
        await until(lambda: holds(not first.application.running), "the stop to begin")
        gate.set()
        await stopping
    finally:
        gate.set()
        if first.application.running:
            await first.stop()
    assert [m.text for m in first_core.messages] == ["/first"]
    first_id, second_id = fake.update_ids("message")
    assert await inbox_rows(db) == {first_id: True, second_id: False}
    assert fake.pending_updates == 0  # confirmed to Telegram: only the inbox still has it

    for run in range(2):
        core = RecordingCore()
        adapter = make_adapter(fake, client_limits, db)
        adapter.bind(core)
        await adapter.start()
        try:
            if run == 0:
                await fake.wait_for(lambda c=core: bool(c.messages), what="/second after the restart")
            fake.user_sends(alice, group, f"/third {run}")  # after it, nothing else can come
            await fake.wait_for(lambda c=core: any(m.text.startswith("/third") for m in c.messages))
        finally:
            await adapter.stop()
        expected = ["/second", "/third 0"] if run == 0 else ["/third 1"]
        assert [m.text for m in core.messages] == expected
    assert all((await inbox_rows(db)).values())


async def holds(value: bool) -> bool:
    return value


async def test_every_update_kind_carries_its_event_id(
    fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    """A message keeps its message id, a button press gets its callback query id, a poll
    answer (which has no id of its own) its update id: the core records them once."""
    alice = fake.add_user("Alice")
    group = fake.add_group("SMC Veghel", members=[alice])
    sent = fake.user_sends(alice, group, "/meetups")
    await fake.wait_for(lambda: len(core.messages) == 1)
    assert sent is not None and core.messages[0].message_id == str(sent["message_id"])

    await adapter.messenger.send_text(tg(group.id), "Borrel", [Button("Going", "rsvp:1:yes")])
    query_id = fake.press(alice, fake.last(group), "Going")
    await fake.wait_for(lambda: len(core.actions) == 1)
    assert core.actions[0].event_id == f"cb:{query_id}"

    poll = await adapter.messenger.send_poll(tg(group.id), "When?", ["fri", "sat"], True)
    fake.vote(alice, poll.platform_poll_id, [1])
    await fake.wait_for(lambda: len(core.poll_answers) == 1)
    assert core.poll_answers[0].event_id == str(fake.update_ids("poll_answer")[0])


async def test_an_update_that_comes_twice_changes_nothing_the_second_time(
    fake: FakeBotAPI, db: Database, clock: VirtualClock, client_limits: FloodLimits
) -> None:
    """A command (/newmeetup), a button press and a poll answer, each delivered twice: once
    by Telegram offering them again (the bot's confirmation was lost: the inbox skips them),
    and the command and the press once more by a crash between the core's commit and the
    inbox mark (the rows are handed over again at the start: the core recognises their event
    ids; a poll answer's row is marked in the unit of work that records it, so it has no such
    gap). Nothing changes and nothing is answered twice, though each would have undone a
    later change."""
    alice = fake.add_user("Alice", language_code="en")
    bob, carol = fake.add_user("Bob", language_code="en"), fake.add_user("Carol", language_code="en")
    group = fake.add_group("SMC Den Bosch", members=[bob, carol], creator=alice)

    def when(days: int) -> str:
        return (clock.now() + timedelta(days=days)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")

    first = make_adapter(fake, client_limits, db)
    first.bind(Core(db, {"telegram": first.messenger}, clock, CoreSettings()))
    await first.start()
    try:
        fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
        await fake.wait_for(lambda: len(fake.texts(group)) == 1, what="the /setup answer")
        command = fake.user_sends(alice, group, f"/newmeetup Borrel; {when(3)}; Café de Unie")
        await fake.wait_for(lambda: any(m.buttons for m in fake.bot_messages(group)),
                            what="the announcement")
        (announcement,) = [m for m in fake.bot_messages(group) if m.buttons]
        fake.user_sends(alice, group, f"/newmeetup Tweetup; {when(5)} | {when(6)}; Verkadefabriek")
        await fake.wait_for(lambda: bool(fake.polls), what="the date poll")
        (poll,) = fake.polls.values()

        yes, no = announcement.buttons[0][1], announcement.buttons[2][1]
        pressed_yes = fake.press(carol, announcement, data=yes)
        await fake.wait_for(lambda: fake.answer_to(pressed_yes) is not None)
        pressed_no = fake.press(carol, announcement, data=no)
        await fake.wait_for(lambda: fake.answer_to(pressed_no) is not None)
        fake.vote(bob, poll, [0])
        fake.vote(bob, poll, [1])  # changes his mind
        await all_handled(db, fake)
        await first.messenger.settle()
    finally:
        await first.stop()

    assert command is not None
    (command_update,) = [uid for uid in fake.update_ids("message")
                         if fake.sent_update(uid)["message"]["message_id"]
                         == command["message_id"]]
    press_update = next(uid for uid in fake.update_ids("callback_query")
                        if fake.sent_update(uid)["callback_query"]["id"] == pressed_yes)
    vote_update = fake.update_ids("poll_answer")[0]  # Bob's first answer, option 0
    twice = (command_update, press_update, vote_update)

    async def state() -> tuple[object, ...]:
        async with db.transaction() as s:
            meetups = await s.scalar(select(func.count()).select_from(Meetup))
            rsvps = sorted(tuple(r) for r in await s.execute(select(Rsvp.person_id, Rsvp.status)))
            votes = sorted(tuple(r) for r in await s.execute(select(Vote.person_id, Vote.option_id)))
        return meetups, rsvps, votes

    before, sent_before = await state(), answers(fake)
    assert before[0] == 2 and len(before[1]) == 1 and len(before[2]) == 1  # Carol: no; Bob: 1

    # A crash between the core's commit and the mark: the rows are unhandled again ...
    async with db.transaction() as s:
        await s.execute(update(InboxUpdate)
                        .where(InboxUpdate.update_id.in_((command_update, press_update)))
                        .values(handled_at=None))
    # ... and Telegram offers the three again (it never got the confirmation).
    fake.resend(*twice)

    second = make_adapter(fake, client_limits, db)
    second.bind(Core(db, {"telegram": second.messenger}, clock, CoreSettings()))
    await second.start()
    try:
        await all_handled(db, fake)
        await second.messenger.settle()
    finally:
        await second.stop()

    assert await state() == before
    assert answers(fake) == sent_before
    assert [r.status for r in fake.calls("answerCallbackQuery")] == [200, 200]


async def test_webhook_answers_200_only_once_the_update_is_stored(
    fake: FakeBotAPI, db: Database, client_limits: FloodLimits
) -> None:
    """Telegram's post waits while the update is being stored; a post that could not be
    stored gets a 500, and Telegram posts it again; a post Telegram repeats (our 200 got
    lost) is answered 200 and handled once."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = TelegramSettings(token=fake.token, base_url=fake.base_url, mode="webhook",
                                webhook_url=url, listen="127.0.0.1", port=port,
                                secret_token=SECRET)
    core = RecordingCore()
    adapter = TelegramAdapter(settings, db, limits=client_limits)
    adapter.bind(core)
    store = adapter.inbox.store
    gate = asyncio.Event()
    failures = [0]  # how many stores to fail
    stored_at: dict[int, float] = {}

    async def slow_store(updates: list[tuple[int, str]]) -> set[int]:
        await gate.wait()
        if failures[0]:
            failures[0] -= 1
            raise ConnectionError("database unreachable")
        new = await store(updates)
        for uid, _ in updates:
            stored_at.setdefault(uid, time.monotonic())
        return new

    adapter.inbox.store = slow_store  # type: ignore[method-assign]
    await adapter.start()
    try:
        alice = fake.add_user("Alice")
        fake.start_bot(alice)
        (first,) = fake.update_ids("message")
        await asyncio.sleep(0.5)
        assert fake.webhook_deliveries == [] and await inbox_rows(db) == {}
        assert core.messages == []
        gate.set()
        await fake.wait_for(lambda: bool(fake.webhook_deliveries), what="the 200")
        (delivery,) = fake.webhook_deliveries
        assert (delivery.update_id, delivery.status) == (first, 200)
        assert stored_at[first] <= delivery.at
        await fake.wait_for(lambda: len(core.messages) == 1)

        failures[0] = 1
        fake.user_sends(alice, fake.private_chat(alice), "/who")
        await fake.wait_for(lambda: len(core.messages) == 2, what="/who after a retry")
        second = fake.update_ids("message")[1]
        assert [(d.update_id, d.status) for d in fake.webhook_deliveries[1:]] == [
            (second, 500), (second, 200)]

        # Telegram repeats a post whose 200 it did not get: answered, handled once.
        async with aiohttp.ClientSession() as http:
            body = json.dumps(fake.sent_update(second))
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET,
                       "Content-Type": "application/json"}
            async with http.post(url, data=body, headers=headers) as resp:
                assert resp.status == 200
        await asyncio.sleep(0.3)
        assert [m.text for m in core.messages] == ["/start", "/who"]
    finally:
        await adapter.stop()
    assert await inbox_rows(db) == {first: True, second: True}


async def test_polling_confirms_a_batch_only_once_it_is_stored(
    fake: FakeBotAPI, db: Database, client_limits: FloodLimits
) -> None:
    """The database fails the first store: the batch is not confirmed (Telegram still has
    it), the bot asks for it again and then handles it, once."""
    core = RecordingCore()
    adapter = make_adapter(fake, client_limits, db)
    adapter.bind(core)
    store = adapter.inbox.store
    attempts: list[int] = []

    async def flaky_store(updates: list[tuple[int, str]]) -> set[int]:
        attempts.append(len(updates))
        if len(attempts) == 1:
            raise ConnectionError("database unreachable")
        return await store(updates)

    adapter.inbox.store = flaky_store  # type: ignore[method-assign]
    await adapter.start()
    try:
        alice = fake.add_user("Alice")
        fake.start_bot(alice)
        await until(lambda: holds(len(attempts) == 1), "the failed store")
        await asyncio.sleep(0.3)
        assert fake.pending_updates == 1 and core.messages == []  # not confirmed
        await fake.wait_for(lambda: len(core.messages) == 1, what="the update, asked again")
        await fake.wait_for(lambda: fake.pending_updates == 0, what="the confirmation")
    finally:
        await adapter.stop()
    assert attempts == [1, 1] and [m.text for m in core.messages] == ["/start"]


async def test_polling_rides_out_a_network_outage(
    fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    """Telegram out of reach for a while: polling tries again, and what was sent meanwhile
    arrives once it is back."""
    alice = fake.add_user("Alice")
    await fake.go_offline()
    await asyncio.sleep(1.5)
    fake.start_bot(alice)
    await fake.go_online()
    await fake.wait_for(lambda: len(core.messages) == 1, within=20, what="/start after the outage")
    assert [m.text for m in core.messages] == ["/start"]
