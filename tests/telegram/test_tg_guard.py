"""Chatter, long answers and votes from outside the group, through the fake Bot API."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, select

from bot.adapters.telegram import FloodLimits, TelegramAdapter
from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.messages import ChatRef, Inbound, UserRef
from bot.core.settings import CoreSettings
from bot.db.models import InboxUpdate, Person, Vote
from bot.db.session import Database
from tests.fakes import RecordingMessenger
from tests.telegram.fake_bot_api import FakeBotAPI, FakeChat, FakeUser
from tests.telegram.fake_bot_api.server import utf16_len
from tests.telegram.tg_support import make_adapter


def long_intro(i: int) -> str:
    return f"Lid {i}, ik fiets 🚲 naar elke meetup en neem koffie mee ".ljust(190, "☕")


async def chapter_with_meetup(fake: FakeBotAPI, alice: FakeUser, group: FakeChat,
                              clock: VirtualClock) -> None:
    fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await fake.wait_for(lambda: len(fake.texts(group)) == 1, what="setup answer")
    fake.user_sends(alice, group, "/newmeetup Tweetup; 2026-12-10 19:30; Verkadefabriek")
    await fake.wait_for(lambda: len(fake.texts(group)) == 2, what="the announcement")


async def test_a_big_who_comes_in_several_messages(
    fake: FakeBotAPI, wired: tuple[TelegramAdapter, Core], clock: VirtualClock
) -> None:
    _adapter, core = wired
    alice = fake.add_user("Alice", language_code="en")
    bob = fake.add_user("Bob", language_code="en")
    group = fake.add_group("SMC Den Bosch", members=[bob], creator=alice)
    await chapter_with_meetup(fake, alice, group, clock)
    # Forty members who talked to the bot before (through a second core on the same
    # database, answering into a recorder) wrote an intro and said yes.
    seeder = Core(core.db, {"telegram": RecordingMessenger(platform="telegram")}, clock,
                  CoreSettings())
    names = []
    for i in range(40):
        person = UserRef("telegram", str(900_000 + i), f"Member {i:02d}")
        await seeder.handle_message(Inbound(ChatRef("telegram", person.id), person,
                                            f"/intro {long_intro(i)}", is_private=True))
        await seeder.handle_message(Inbound(ChatRef("telegram", str(group.id)), person,
                                            "/rsvp yes"))
        names.append(person.display_name)

    before = len(fake.texts(group))
    fake.user_sends(bob, group, "/who")
    await fake.wait_for(lambda: any(names[-1] in t for t in fake.texts(group)[before:]),
                        what="the whole /who")
    replies = fake.texts(group)[before:]
    assert len(replies) >= 2
    assert all(utf16_len(t) <= 4096 for t in replies)
    lines = "\n".join(replies).split("\n")
    assert "Going (40):" in replies[0]
    for i, name in enumerate(names):  # every line whole, in order
        assert f"• {name} — {long_intro(i)}" in lines


async def test_chatter_costs_no_database_write(
    fake: FakeBotAPI, db: Database, clock: VirtualClock, client_limits: FloodLimits
) -> None:
    """The bot is an admin of the group, so Telegram sends it every message, not only
    commands: the chatter is confirmed and dropped before the inbox."""
    writes: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    at_marker: list[list[str]] = []

    class Marking(Core):
        async def handle_message(self, msg: Inbound) -> None:
            if msg.text == "/meetups":
                at_marker.append(list(writes))
            await super().handle_message(msg)

    adapter = make_adapter(fake, client_limits, db)
    adapter.bind(Marking(db, {"telegram": adapter.messenger}, clock, CoreSettings()))
    await adapter.start()
    try:
        alice = fake.add_user("Alice", language_code="en")
        bob = fake.add_user("Bob", language_code="en")
        group = fake.add_group("SMC Den Bosch", members=[bob], creator=alice, bot_admin=True)
        fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
        await fake.wait_for(lambda: len(fake.texts(group)) == 1, what="setup answer")
        await asyncio.sleep(0.5)  # its inbox row is marked handled
        before = len(writes)

        assert fake.user_sends(bob, group, "Hoi allemaal! Wie komt er donderdag?")
        assert fake.user_sends(alice, group, "Ik! 🙋")
        fake.user_sends(alice, group, "/meetups")
        await fake.wait_for(lambda: len(fake.texts(group)) == 2, what="the /meetups answer")
        (seen_then,) = at_marker
        # Nothing but the command's own row in the inbox.
        assert len(seen_then) == before + 1
        assert seen_then[-1].startswith("INSERT INTO inbox ")
        async with db.transaction() as s:
            stored = (await s.scalars(select(InboxUpdate.update_id))).all()
        assert len(stored) == 2
    finally:
        await adapter.stop()


async def voters(db: Database) -> list[str]:
    async with db.transaction() as s:
        names = await s.scalars(select(Person.display_name).join(Vote, Vote.person_id == Person.id)
                                .distinct().order_by(Person.display_name))
        return list(names)


async def test_only_members_of_the_group_vote(
    fake: FakeBotAPI, wired: tuple[TelegramAdapter, Core], clock: VirtualClock
) -> None:
    _adapter, core = wired
    alice = fake.add_user("Alice", language_code="en")
    bob, carol, dave, erin, frank, mallory = (
        fake.add_user(n, language_code="en")
        for n in ("Bob", "Carol", "Dave", "Erin", "Frank", "Mallory"))
    group = fake.add_group("SMC Den Bosch", members=[bob, carol, dave, erin, frank],
                           creator=alice)
    fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await fake.wait_for(lambda: len(fake.texts(group)) == 1, what="setup answer")
    fake.user_sends(alice, group, "/newmeetup Tweetup; 2026-12-10 19:30 | 2026-12-11 19:30")
    await fake.wait_for(lambda: bool(fake.polls), what="the date poll")
    (poll,) = fake.polls.values()
    # Members read the poll first: the bot records its id a few ms after Telegram answers
    # sendPoll, and an answer to a poll it has no record of is not counted (decisions.md).
    await asyncio.sleep(0.5)

    fake.set_status(group, carol, "left")  # left the group, kept the poll open
    fake.set_status(group, dave, "kicked")
    fake.set_status(group, erin, "restricted")  # muted, still in the group
    fake.set_status(group, frank, "restricted", is_member=False)
    # Mallory was never in the group: someone forwarded her the poll. She votes twice.
    for voter in (bob, carol, dave, erin, frank, mallory, mallory):
        fake.vote(voter, poll, [0])
    await fake.wait_for(lambda: fake.pending_updates == 0, what="the votes delivered")
    await fake.wait_for(lambda: len(fake.calls("getChatMember")) >= 5, what="lookups")
    await asyncio.sleep(0.5)
    assert await voters(core.db) == ["Bob", "Erin"]
    asked = [int(c.params["user_id"]) for c in fake.calls("getChatMember")]
    assert sorted(asked) == sorted([bob.id, carol.id, dave.id, erin.id, frank.id, mallory.id])

    # Bob is known now: his next vote costs no lookup.
    fake.vote(bob, poll, [1])
    await fake.wait_for(lambda: fake.pending_updates == 0, what="Bob's second vote")
    await asyncio.sleep(0.5)
    assert len(fake.calls("getChatMember")) == 6
