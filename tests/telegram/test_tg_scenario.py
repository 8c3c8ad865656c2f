"""A whole meetup on Telegram, from /setup to the reminders, and a burst of commands through the core.

The real core and database, the real python-telegram-bot Application, and the fake Bot API in
between.

Group commands, a native date poll answered by three members, the clock moved so the poll
closes (stopPoll) and the winner is announced with RSVP buttons, buttons pressed (and a
forged one refused), then DM reminders with a calendar file to those who started the bot
and a "start me" hint in the group for the one who did not.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.adapters.telegram import FloodLimits, TelegramAdapter
from bot.clock import VirtualClock, advance
from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.session import Database
from tests.telegram.fake_bot_api import FakeBotAPI, FakeLimits
from tests.telegram.tg_support import make_adapter

TZ = ZoneInfo("Europe/Amsterdam")




def local(clock: VirtualClock, delta: timedelta) -> str:
    return (clock.now() + delta).astimezone(TZ).strftime("%Y-%m-%d %H:%M")


async def test_a_meetup_from_setup_to_reminders(
    fake: FakeBotAPI, wired: tuple[TelegramAdapter, Core], clock: VirtualClock
) -> None:
    adapter, core = wired
    alice = fake.add_user("Alice", username="alice", language_code="en")
    bob, carol, dave = (fake.add_user(n, language_code="en") for n in ("Bob", "Carol", "Dave"))
    group = fake.add_group("SMC Den Bosch", members=[bob, carol, dave], creator=alice)

    def texts_so_far() -> int:
        return len(fake.bot_messages(group))

    # -- the organiser sets the chapter up and proposes three dates
    fake.user_sends(alice, group, "/setup@irl_test_bot SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await fake.wait_for(lambda: texts_so_far() == 1, what="setup answer")
    dates = [local(clock, timedelta(days=n)) for n in (5, 6, 7)]
    fake.user_sends(alice, group, f"/newmeetup Tweetup #1; {' | '.join(dates)}; Verkadefabriek")
    await fake.wait_for(lambda: bool(fake.polls), what="the date poll")
    (poll,) = fake.polls.values()
    assert poll.chat_id == group.id and len(poll.options) == 3
    assert not poll.is_anonymous and poll.allows_multiple_answers

    # A member can't close it.
    before = texts_so_far()
    fake.user_sends(bob, group, "/closepoll")
    await fake.wait_for(lambda: texts_so_far() == before + 1)
    assert fake.texts(group)[-1] == "Only organisers can do that."

    # -- three members vote natively; one changes their mind
    fake.vote(bob, poll, [0])
    fake.vote(carol, poll, [0, 1])
    fake.vote(dave, poll, [2])
    fake.vote(dave, poll, [1])
    await fake.wait_for(lambda: fake.pending_updates == 0, what="votes delivered")
    # Votes are handled in order per poll; a /who round-trip makes sure the last one is in.
    before = texts_so_far()
    fake.user_sends(alice, group, "/meetups")
    await fake.wait_for(lambda: texts_so_far() == before + 1)

    # -- the clock moves past the closing time: stopPoll, then the winner with buttons
    await advance(core, clock, timedelta(hours=49))
    assert poll.is_closed and len(fake.calls("stopPoll")) == 1
    announcement = next(m for m in reversed(fake.bot_messages(group)) if m.buttons)
    assert f"Tweetup #1 is on {poll.options[0]}" in announcement.text
    assert [d.split(":")[2] for _, d in announcement.buttons] == ["yes", "maybe", "no"]

    # -- DMs: Bob and Dave start the bot, Carol never does
    fake.start_bot(bob)
    fake.start_bot(dave)
    await fake.wait_for(lambda: len(fake.texts(bob.id)) == 1 and len(fake.texts(dave.id)) == 1)

    # -- buttons pressed, and a forged payload
    going = fake.press(bob, announcement, data=announcement.buttons[0][1])
    carol_going = fake.press(carol, announcement, data=announcement.buttons[0][1])
    dave_maybe = fake.press(dave, announcement, data=announcement.buttons[1][1])
    forged = fake.press(carol, announcement, data="rsvp:999:yes")
    queries = (going, carol_going, dave_maybe, forged)
    await fake.wait_for(lambda: all(fake.answer_to(q) for q in queries), what="toasts")
    toast = {q: fake.answer_to(q).text for q in queries}  # type: ignore[union-attr]
    assert "Bob is going" in toast[going]
    assert "Carol is going" in toast[carol_going]
    assert toast[forged] and "going" not in toast[forged]
    await adapter.messenger.settle()
    assert len(announcement.edits) <= len(queries)  # coalesced, never more than the taps
    assert "2 going · 1 maybe" in announcement.text

    # -- the day before: reminders by DM with a calendar file, a hint for Carol
    before = len(fake.bot_messages(group))
    await advance(core, clock, timedelta(days=2, hours=20))
    bob_reminder = fake.last(bob.id)
    assert bob_reminder.kind == "document" and bob_reminder.document is not None
    assert bob_reminder.text.startswith("Reminder: Tweetup #1")
    assert b"BEGIN:VEVENT" in bob_reminder.document.content
    assert all(m.kind == "text" for m in fake.bot_messages(dave.id))  # maybe: no reminder
    new_in_group = [m.text for m in fake.bot_messages(group)[before:]]
    hints = [t for t in new_in_group if "Carol" in t and "https://t.me/irl_test_bot?start=" in t]
    assert len(hints) == 1
    refused = [r for r in fake.calls("sendDocument") + fake.calls("sendMessage") if r.status == 403]
    assert {r.chat_id for r in refused} == {carol.id}
    assert fake.violations == []

    # Nothing is sent twice, however often the core is woken.
    sent = len(fake.requests)
    assert await core.run_due() == 0
    assert len(fake.requests) == sent


async def test_burst_of_30_commands_through_the_core(db: Database, clock: VirtualClock) -> None:
    """30 commands in one group within 5 s, answered by the real core: all 30 answers
    arrive and no request came during a retry_after. Windows 10x shorter than Telegram's
    (20 per 6 s per group); test_tg_flood.py has the same burst at the real limits."""
    scale = 0.1
    async with FakeBotAPI(limits=FakeLimits().scaled(scale)) as fake:
        adapter = make_adapter(fake, FloodLimits().scaled(scale), db)
        core = Core(db, {"telegram": adapter.messenger}, clock, CoreSettings())
        alice = fake.add_user("Alice", language_code="en")
        members = [fake.add_user(f"Member {i}", language_code="en") for i in range(9)]
        group = fake.add_group("SMC Veghel", members=members, creator=alice)
        adapter.bind(core)
        await adapter.start()
        try:
            fake.user_sends(alice, group, "/setup SMC Veghel; Veghel; Europe/Amsterdam; en")
            await fake.wait_for(lambda: len(fake.texts(group)) == 1)
            for i in range(30):
                fake.user_sends(([alice, *members])[i % 10], group, "/meetups")
                await asyncio.sleep(0.1)
            await fake.wait_for(lambda: len(fake.texts(group)) == 31, within=30)
        finally:
            await adapter.stop()
    assert set(fake.texts(group)[1:]) == {"No meetups planned. Send /next to hear when one is."}
    assert fake.violations == []
