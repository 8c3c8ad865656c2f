"""Chatter, long answers and votes from outside the group, through the fake Bot API."""

from __future__ import annotations

from bot.adapters.telegram import TelegramAdapter
from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.messages import ChatRef, Inbound, UserRef
from bot.core.settings import CoreSettings
from tests.fakes import RecordingMessenger
from tests.telegram.fake_bot_api import FakeBotAPI, FakeChat, FakeUser
from tests.telegram.fake_bot_api.server import utf16_len


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
