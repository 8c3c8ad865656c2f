"""Matrix input, at least once; its effect, exactly once (issue 8, deliverable 4).

The core records every event id in the transaction of its effect and drops a repeat; the
adapter hands a batch read again after a crash to the core again, fills a gap to the end
before its token moves on, and tries again what the core could not do for a passing reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.adapters.matrix import MatrixMessenger
from bot.adapters.matrix import sync as sync_module
from bot.adapters.matrix.calls import MatrixCallError
from bot.adapters.matrix.content import POLL_START
from bot.adapters.matrix.state import DbStateStore, state_key
from bot.adapters.matrix.sync import SyncLoop
from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.messages import ChatRef, Inbound, PollAnswer, PollEnd, ReactionRsvp
from bot.core.settings import CoreSettings
from bot.db.models import Meetup, Person, PollOption, Rsvp, Vote
from bot.db.session import Database
from tests.matrix.conftest import START, MakeBot, MakeMember
from tests.matrix.mx_helpers import is_text_from, room_with_bot
from tests.matrix.mx_members import Member
from tests.matrix.mx_process import wait_until
from tests.matrix.mx_recorder import RecordingCore

TZ = ZoneInfo("Europe/Amsterdam")


def local(delta: timedelta) -> str:
    return (START + delta).astimezone(TZ).strftime("%Y-%m-%d %H:%M")


class FreezingCore:
    """The real core, until the `freeze_at`-th event it is handed: then the process "dies"
    there (it hangs until the adapter is stopped), before or after the core committed it."""

    def __init__(self, core: Core, freeze_at: int, after_commit: bool) -> None:
        self.core, self.freeze_at, self.after_commit = core, freeze_at, after_commit
        self.handed = 0
        self.frozen = asyncio.Event()

    async def _pass(self, handle: Callable[[], Awaitable[None]]) -> None:
        self.handed += 1
        if self.handed == self.freeze_at:
            if self.after_commit:
                await handle()
            self.frozen.set()
            await asyncio.Event().wait()
        await handle()

    async def handle_message(self, msg: Inbound) -> None:
        await self._pass(lambda: self.core.handle_message(msg))

    async def handle_poll_answer(self, answer: PollAnswer) -> None:
        await self._pass(lambda: self.core.handle_poll_answer(answer))

    async def handle_reaction(self, reaction: ReactionRsvp) -> None:
        await self._pass(lambda: self.core.handle_reaction(reaction))

    async def handle_poll_end(self, end: PollEnd) -> None:
        await self._pass(lambda: self.core.handle_poll_end(end))


async def votes_and_rsvps(db: Database) -> tuple[dict[str, list[int]], dict[str, str]]:
    async with db.transaction() as s:
        votes: dict[str, list[int]] = {}
        for name, position in await s.execute(
            select(Person.display_name, PollOption.position)
            .join(Vote, Vote.person_id == Person.id)
            .join(PollOption, PollOption.id == Vote.option_id)
            .order_by(Person.display_name, PollOption.position)
        ):
            votes.setdefault(name, []).append(position)
        rsvps = {name: status.value for name, status in await s.execute(
            select(Person.display_name, Rsvp.status).join(Rsvp, Rsvp.person_id == Person.id)
            .join(Meetup, Meetup.id == Rsvp.meetup_id).where(Meetup.title == "Picnic"))}
    return votes, rsvps


@pytest.mark.parametrize("after_commit", [False, True], ids=["before-commit", "after-commit"])
async def test_crash_mid_batch_answers_and_counts_everything_once(
    make_bot: MakeBot, make_member: MakeMember, matrix_db: Database, after_commit: bool
) -> None:
    clock = VirtualClock(START)
    store = DbStateStore(matrix_db)  # the adapter's state in the same database as the core's

    def core_with(wrap: Callable[[Core], Any] = lambda c: c) -> Callable[[MatrixMessenger], Any]:
        return lambda messenger: wrap(Core(matrix_db, {"matrix": messenger}, clock,
                                           CoreSettings()))

    bot = await make_bot(store=store, core_factory=core_with())
    alice, bob, carol, dave = [await make_member(n) for n in ("alice", "bob", "carol", "dave")]
    room = await room_with_bot(alice, bot.user_id, bob, carol, dave)

    async def command(text: str, expect: str) -> dict[str, Any]:
        mark = len(alice.timeline)
        await alice.say(room, text)
        _, reply = await alice.wait_for(is_text_from(bot.user_id, room, expect), after=mark)
        return reply

    await command("!setup SMC Uden; Uden; Europe/Amsterdam; en", "SMC Uden")
    await alice.say(room, f"!newmeetup Borrel; {local(timedelta(days=5))} | "
                          f"{local(timedelta(days=6))}")
    _, start = await bob.wait_for(lambda r, e: r == room and e.get("type") == POLL_START)
    first, second = (a["id"] for a in start["content"][POLL_START]["answers"])
    picnic = await command(f"!newmeetup Picnic; {local(timedelta(days=9))}; Park", "Picnic")
    await alice.wait_until(lambda: sum(  # the bot's own ✅ 🤔 ❌ under the announcement
        e.get("type") == "m.reaction" and e.get("sender") == bot.user_id
        for _, e in alice.timeline) == 3)
    mark = len(alice.timeline)
    maybe = await carol.react(room, picnic["event_id"], "🤔")
    await alice.wait_for(is_text_from(bot.user_id, room, "Carol might come"), after=mark)
    await bot.adapter.stop()

    # One batch while the bot is away: nine events for the core. (A reaction taken away
    # before the bot reads it comes redacted, without content: it and its redaction are
    # nothing to the bot, so carol's 🤔 was answered before.)
    mark = len(alice.timeline)
    ref = {"rel_type": "m.reference", "event_id": start["event_id"]}

    async def vote(member: Member, ids: list[str]) -> None:
        await member.send(room, "m.poll.response", {"m.relates_to": ref, "m.selections": ids})

    await vote(bob, [first])
    await alice.say(room, "!meetups")
    await vote(carol, [second])
    await bob.react(room, picnic["event_id"], "✅")
    await carol.redact(room, maybe)  # the 5th: where the bot dies
    await bob.say(room, "!help")
    await vote(bob, [first, second])
    await dave.react(room, picnic["event_id"], "❌")
    await carol.say(room, "!who")

    freezing: list[FreezingCore] = []

    def freeze(core: Core) -> FreezingCore:
        freezing.append(FreezingCore(core, freeze_at=5, after_commit=after_commit))
        return freezing[0]

    token = await store.get("next_batch")
    dying = await make_bot(settings=bot.settings, store=store, core_factory=core_with(freeze))
    await asyncio.wait_for(freezing[0].frozen.wait(), 30)
    await dying.adapter.stop(grace_s=0.2)  # killed with half the batch handed over
    assert await store.get("next_batch") == token

    await make_bot(settings=bot.settings, store=store, core_factory=core_with())
    # The batch's last answer (carol's !who), then one more command: its answer must not be
    # taken for one of the batch's, which a slow restart may still be sending.
    await alice.wait_for(is_text_from(bot.user_id, room, "Going ("), after=mark, within=60)
    await command("!meetups", "Upcoming")  # after the batch: once answered, the batch was
    await asyncio.sleep(1.5)  # room for a duplicate to show up, if there were one

    later = [str(e["content"]["body"]) for r, e in alice.timeline[mark:]
             if r == room and e.get("sender") == bot.user_id and e.get("type") == "m.room.message"
             and "m.new_content" not in e["content"]]  # not the announcement's count edits
    assert len(later) == 7, later  # 6 for the batch, 1 for the last !meetups
    answers = later[:-1]
    assert sum("Borrel" in a and "Picnic" in a for a in answers) == 1  # !meetups
    assert sum("What I can do" in a for a in answers) == 1  # !help
    assert sum("Going (1)" in a for a in answers) == 1  # !who
    assert sum(a.startswith("Bob is going") for a in answers) == 1  # ✅
    assert sum(a.startswith("Carol took back") for a in answers) == 1  # 🤔 taken away
    assert sum(a.startswith("Dave can't") for a in answers) == 1  # ❌

    votes, rsvps = await votes_and_rsvps(matrix_db)
    assert votes == {"Bob": [0, 1], "Carol": [1]}
    assert rsvps == {"Bob": "yes", "Dave": "no"}


class FailingPages:
    """/messages as the adapter calls it, refusing the `fail_at`-th page once."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.calls = 0
        self.original = SyncLoop._messages

    async def __call__(self, loop: SyncLoop, room_id: str, params: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls == self.fail_at:
            raise MatrixCallError("messages", "M_UNKNOWN", "a page that failed (test)")
        return await self.original(loop, room_id, params)


@pytest.mark.parametrize("stop", ["failed-page", "page-limit"])
async def test_backfill_that_stops_early_is_filled_later(
    make_bot: MakeBot, make_member: MakeMember, monkeypatch: pytest.MonkeyPatch, stop: str
) -> None:
    bot = await make_bot(timeline_limit=3)
    alice = await make_member("alice")
    room = await room_with_bot(alice, bot.user_id)
    await alice.say(room, "!before")
    await bot.core.wait_until(lambda: "/before" in bot.core.texts())
    await bot.adapter.stop()
    for i in range(15):
        await alice.say(room, f"!cmd {i}")

    monkeypatch.setattr(sync_module, "BACKFILL_PAGE", 4)
    pages = FailingPages(fail_at=2 if stop == "failed-page" else 0)

    async def messages(loop: SyncLoop, room_id: str, params: Any) -> dict[str, Any]:
        return await pages(loop, room_id, params)

    monkeypatch.setattr(SyncLoop, "_messages", messages)
    if stop == "page-limit":
        monkeypatch.setattr(sync_module, "BACKFILL_MAX_PAGES", 1)
    handed: list[str] = []
    again = await make_bot(settings=bot.settings, store=bot.store)
    record = again.core.handle_message

    async def handle_message(msg: Inbound) -> None:
        handed.append(msg.text)
        await record(msg)

    again.core.handle_message = handle_message  # type: ignore[method-assign]
    await again.core.wait_until(lambda: len(again.core.messages) == 15, within=30)
    assert again.core.texts() == [f"/cmd {i}" for i in range(15)]
    assert pages.calls >= 4  # 15 events, 4 a page: the fill took more than one pass
    # Nothing was skipped, and nothing was handed over twice except where the fill stopped.
    assert sorted(set(handed)) == sorted(f"/cmd {i}" for i in range(15))
    await alice.wait_until(lambda: len(alice.bodies(room, bot.user_id)) == 16)
    assert alice.bodies(room, bot.user_id) == ["ok !before"] + [f"ok !cmd {i}" for i in range(15)]
    # The gap is closed. The bot's own 16 answers may open and close a gap of their own
    # (3 events a timeline here), so wait for the fill rather than look once.

    async def closed() -> bool:
        return not await bot.store.get(state_key("gap:", room))

    await wait_until(closed, within=10, what="the gap to be closed")


class FlakyCore(RecordingCore):
    """Its database is away for the first `failures` poll answers."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0

    async def handle_poll_answer(self, answer: PollAnswer) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise OperationalError("INSERT INTO votes", {}, ConnectionRefusedError())
        await super().handle_poll_answer(answer)


async def test_a_vote_the_core_could_not_store_is_tried_again(
    make_bot: MakeBot, make_member: MakeMember, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_module, "HANDLE_ATTEMPTS", 2)  # then the batch is read again
    flaky = FlakyCore(failures=3)

    def build(messenger: MatrixMessenger) -> FlakyCore:
        flaky.messenger = messenger
        return flaky

    bot = await make_bot(core_factory=build)
    alice, bob = await make_member("alice"), await make_member("bob")
    room = await room_with_bot(alice, bot.user_id, bob)
    sent = await bot.adapter.messenger.send_poll(ChatRef("matrix", room), "When?", ["Thu", "Fri"],
                                                 True)
    await bob.wait_for(lambda r, e: e.get("type") == POLL_START)
    ref = {"rel_type": "m.reference", "event_id": sent.message_id}
    await bob.send(room, "m.poll.response", {"m.relates_to": ref, "m.selections": ["2"]})
    await alice.say(room, "!after")
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !after"), within=30)
    assert [a.option_indexes for a in flaky.poll_answers] == [(1,)]
    assert flaky.attempts == 4
    assert flaky.texts() == ["/after"]
