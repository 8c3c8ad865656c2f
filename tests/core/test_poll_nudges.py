"""12 hours before a date poll closes: every chat hears how many have voted and when it closes,
and who said yes last time and hasn't voted gets one DM; exactly once, and not for a poll that
closed early, a cancelled meetup or a plain poll."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.clock import VirtualClock
from bot.core import delivery
from bot.core.app import Core
from bot.core.messages import PollEnd
from bot.core.settings import CoreSettings
from bot.db.models import Reminder, ReminderKind, ReminderStatus
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger, Sent
from tests.helpers import local

NUDGE = "⏰ The date poll for"


async def held_meetup(chat: Chat, language: str = "en") -> None:
    """The chapter met once: bob, carol, dave and erin said yes; dave turned reminders off,
    erin never opened a DM with the bot; frank only said maybe."""
    await chat.say("alice", f"/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; {language}")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=1))}")
    for name in ("bob", "carol", "dave"):
        await chat.dm(name, "/start")
    await chat.dm("frank", "/start")
    await chat.dm("dave", "/remind off")
    for name in ("bob", "carol", "dave", "erin"):
        await chat.say(name, "/rsvp yes")
    await chat.say("frank", "/rsvp maybe")
    await chat.advance(timedelta(days=2))  # held, and the thank-you sent


async def date_poll(chat: Chat) -> Sent:
    """A date poll on two dates 5 and 6 days away: it closes in 48 hours."""
    d1, d2 = local(chat, timedelta(days=5)), local(chat, timedelta(days=6))
    out = await chat.say("alice", f"/newmeetup Tweetup #2; {d1} | {d2}")
    return next(s for s in out if s.kind == "poll")


def nudges(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.kind == "text" and s.text.startswith(NUDGE)]


async def test_the_group_hears_the_count_and_last_times_yes_sayers_who_did_not_vote_get_a_dm(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await held_meetup(chat)
    poll = await date_poll(chat)
    await chat.answer_poll("bob", f"poll-{poll.message_id}", [0])
    await chat.say("gina", "/vote 2")  # new: she said nothing last time
    messenger.take()
    assert nudges(await chat.advance(timedelta(hours=36) - timedelta(minutes=1))) == []

    out = await chat.advance(timedelta(minutes=1))
    (group,) = nudges(out)
    assert group.text.startswith("⏰ The date poll for Tweetup #2 closes ")
    assert "; 2 people have voted so far. Not yet? Vote in the poll, or with /vote." in group.text
    dms = [s for s in out if s.kind == "dm"]
    assert [s.to for s in dms] == ["carol"]  # bob voted, dave is off, erin can't be DM'd
    lines = dms[0].text.splitlines()
    assert lines[0].startswith("SMC Den Bosch is picking the date of Tweetup #2, and you "
                               "haven't voted yet. The poll closes ")
    assert lines[1].startswith("1. ") and lines[2].startswith("2. ") and len(lines) == 4
    assert lines[3] == ("Vote in the poll in the group, or send /vote with the numbers of "
                        "every date you can make there, e.g. /vote 1 3.")
    assert not [s for s in out if "can't send you private" in s.text]  # erin is not named

    out = await chat.advance(timedelta(hours=13))  # the poll closes; nothing more
    assert nudges(out) == [] and [s for s in out if s.kind == "dm"] == []
    assert any("The poll is closed" in s.text for s in out)


async def test_nobody_voted_yet_in_a_dutch_chapter(chat: Chat,
                                                   messenger: RecordingMessenger) -> None:
    await held_meetup(chat, "nl")
    await date_poll(chat)
    messenger.take()
    out = await chat.advance(timedelta(hours=36))
    (group,) = [s.text for s in out if s.kind == "text"]
    assert group.startswith("⏰ De datumpoll voor Tweetup #2 sluit ")
    assert group.endswith(", en nog niemand heeft gestemd. Stem in de poll, of met /vote.")
    dms = sorted(s.to for s in out if s.kind == "dm")
    assert dms == ["bob", "carol"]
    assert messenger.dms("bob")[-1].text.startswith(
        "SMC Den Bosch kiest de datum van Tweetup #2, en je hebt nog niet gestemd.")


async def test_one_vote_is_said_in_the_singular(chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await date_poll(chat)
    await chat.say("bob", "/vote 1")
    out = await chat.advance(timedelta(hours=36))
    (group,) = nudges(out)
    assert "; 1 person has voted so far." in group.text
    assert [s for s in out if s.kind == "dm"] == []  # no meetup before this one: no DMs


async def test_every_chat_of_a_linked_chapter_hears_it(db: Database, clock: VirtualClock) -> None:
    tg, mx = RecordingMessenger(platform="telegram"), RecordingMessenger(platform="matrix")
    core = Core(db, {"telegram": tg, "matrix": mx}, clock, CoreSettings())
    group = Chat(core, tg, clock, chat_id="-100", admins=["alice"])
    room = Chat(core, mx, clock, chat_id="!room:localhost", admins=["mia"])
    await group.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await group.dm("alice", "/start")
    await group.say("alice", "/link")
    await room.say("mia", tg.dms("alice")[-1].text.splitlines()[1])
    await date_poll(group)
    await room.say("carol", "/vote 1")
    await group.say("bob", "/vote 2")
    await group.advance(timedelta(hours=36))
    for messenger, chat_id in ((tg, "-100"), (mx, "!room:localhost")):
        (nudge,) = [t for t in messenger.group_texts(chat_id) if t.startswith(NUDGE)]
        assert "2 people have voted" in nudge


async def pending_nudges(db: Database) -> int:
    async with db.transaction() as s:
        return len(list(await s.scalars(select(Reminder.id).where(
            Reminder.kind == ReminderKind.POLL_NUDGE, Reminder.status == ReminderStatus.PENDING))))


async def test_no_nudge_for_a_poll_closed_early_a_cancelled_meetup_or_a_short_poll(
        chat: Chat, messenger: RecordingMessenger, db: Database) -> None:
    await held_meetup(chat)
    await date_poll(chat)
    assert await pending_nudges(db) == 1
    await chat.say("alice", "/cancel")
    await chat.say("alice", "/cancel yes")
    assert await pending_nudges(db) == 0  # removed with the meetup's other reminders
    out = await chat.advance(timedelta(hours=40))
    assert nudges(out) == [] and [s for s in out if s.kind == "dm"] == []

    await date_poll(chat)
    await chat.say("alice", "/closepoll")
    assert await pending_nudges(db) == 0
    assert nudges(await chat.advance(timedelta(hours=40))) == []

    poll = await date_poll(chat)  # closed in Element by a moderator
    await chat.core.handle_poll_end(PollEnd(chat.chat, f"poll-{poll.message_id}",
                                            chat.user("alice"), True))
    assert await pending_nudges(db) == 0
    assert nudges(await chat.advance(timedelta(hours=40))) == []

    # Dates 20 hours away: the poll closes in 10 hours, too soon for a nudge.
    d1, d2 = local(chat, timedelta(hours=20)), local(chat, timedelta(hours=21))
    await chat.say("alice", f"/newmeetup Soon; {d1} | {d2}")
    assert await pending_nudges(db) == 0
    await chat.say("alice", "/poll Which venue?; A | B")  # refused: the date poll is open
    out = await chat.advance(timedelta(hours=11))
    assert any("The poll is closed: Soon" in s.text for s in out)
    assert nudges(out) == []

    await chat.say("alice", "/poll Which venue?; A | B")  # a plain poll: no nudge
    out = await chat.advance(timedelta(hours=49))
    assert any(s.text.startswith("Poll closed: Which venue?") for s in out)
    assert nudges(messenger.sent) == []


async def test_a_nudge_the_bot_wakes_for_too_late_is_skipped(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await held_meetup(chat)
    await date_poll(chat)
    chat.clock.advance(timedelta(hours=40))  # the bot was down past the nudge's grace
    await chat.core.run_due()
    assert nudges(messenger.sent) == []
    assert not [s for s in messenger.sent if "is picking the date" in s.text]


async def test_exactly_once_across_copies_and_a_crash(db_url: str, db: Database,
                                                      clock: VirtualClock) -> None:
    first = RecordingMessenger()
    core = Core(db, {first.platform: first}, clock, CoreSettings())
    chat = Chat(core, first, clock)
    await held_meetup(chat)
    await date_poll(chat)
    clock.advance(timedelta(hours=36))
    async with core.units() as w:  # a copy claims the nudge, then dies before sending it
        (claimed,) = await delivery.claim_reminders(w)
    await db.dispose()

    again = Database(db_url)
    second = RecordingMessenger(started=set(first.started))
    third = RecordingMessenger(started=set(first.started))
    copies = [Core(again, {m.platform: m}, clock, CoreSettings()) for m in (second, third)]
    try:
        await asyncio.gather(*(c.run_due() for c in copies))
        assert nudges(second.sent + third.sent) == []  # the dead copy's claim still holds
        clock.advance(CoreSettings().claim_lease + timedelta(seconds=1))
        await asyncio.gather(*(c.run_due() for c in copies))
        await asyncio.gather(*(c.run_due() for c in copies))
        async with again.transaction() as s:
            (status,) = await s.scalars(select(Reminder.status).where(
                Reminder.kind == ReminderKind.POLL_NUDGE))
    finally:
        await again.dispose()
    sent = second.sent + third.sent
    assert len(nudges(sent)) == 1
    assert sorted(s.to for s in sent if s.kind == "dm") == ["bob", "carol"]
    assert status == ReminderStatus.SENT and claimed[1] == 1
