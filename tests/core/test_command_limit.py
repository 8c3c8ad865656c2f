"""Issue 10, limits: a member gets at most `commands_per_minute` commands a minute in a chat
(10 by default); past that the bot ignores them and says so once. Other members, and the same
member in another chat, are answered as usual; a minute later the member is answered again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import VirtualClock
from bot.core.throttle import CommandLimit, Verdict
from tests.fakes import Chat
from tests.helpers import ready


async def test_the_eleventh_command_in_a_minute_is_ignored_and_said_so_once(
        chat: Chat, clock: VirtualClock) -> None:
    await ready(chat)
    clock.advance(timedelta(minutes=2))  # what setting up took is forgotten
    for _ in range(10):
        assert len(await chat.say("bob", "/who")) == 1
    told = await chat.say("bob", "/who")
    assert [s.text for s in told] == [
        "Bob, that is more than 10 commands in a minute; I'll ignore yours here for a minute."]
    for _ in range(5):
        assert await chat.say("bob", "/who") == []
    # Others in the chat are answered; so is Bob in a private chat.
    assert len(await chat.say("carol", "/who")) == 1
    assert len(await chat.dm("bob", "/help")) == 1
    # A minute after his first, the window has room again.
    clock.advance(timedelta(seconds=61))
    assert len(await chat.say("bob", "/who")) == 1


async def test_said_so_in_the_chapters_language(chat: Chat, clock: VirtualClock) -> None:
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl")
    clock.advance(timedelta(minutes=2))
    for _ in range(10):
        await chat.say("bob", "/who")
    told = await chat.say("bob", "/who")
    assert [s.text for s in told] == [
        "Bob, dat zijn meer dan 10 commando's in een minuut; ik negeer de jouwe hier een "
        "minuut lang."]


def test_the_limit_remembers_a_bounded_number_of_members() -> None:
    limit = CommandLimit(2, tracked=100)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    for i in range(1000):
        assert limit.check("telegram", "-1", str(i), now) is Verdict.ANSWER
    assert len(limit) == 100
    assert [limit.check("telegram", "-1", "999", now) for _ in range(3)] == [
        Verdict.ANSWER, Verdict.SAY_SO, Verdict.IGNORE]
    assert limit.check("telegram", "-1", "999", now + timedelta(minutes=1)) is Verdict.ANSWER


def test_zero_means_no_limit() -> None:
    limit = CommandLimit(0)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert all(limit.check("t", "c", "m", now) is Verdict.ANSWER for _ in range(100))
