"""Nothing said is forgotten: what the bot owes members is kept in the database until it is
delivered, so a process that dies mid-send delays messages but never loses them."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.messages import ChatRef, UserRef
from bot.core.outbox import Outbox
from bot.core.settings import CoreSettings
from bot.db.models import Interest, OutboxKind, OutboxMessage, OutboxStatus
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter, local

MEMBERS = [f"member{i}" for i in range(60)]


class DiesAt(RecordingMessenger):
    """The process 'dies' at the n-th DM: that send never returns, and nothing after it runs."""

    def __init__(self, n: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.n, self.calls = n, 0
        self.dead = asyncio.Event()

    async def send_dm(self, user, text, file=None, *, key=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls >= self.n:
            self.dead.set()
            await asyncio.Event().wait()  # until the task is killed
        return await super().send_dm(user, text, file, key=key)


async def sixty_going(chat: Chat) -> None:
    await chapter(chat)
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=5))}")
    for name in MEMBERS:
        await chat.dm(name, "/start")
        await chat.say(name, "/rsvp yes")


async def test_a_cancellation_reaches_everyone_though_the_process_died_mid_send(
        db_url: str, db: Database, clock: VirtualClock) -> None:
    first = DiesAt(15)
    core = Core(db, {first.platform: first}, clock, CoreSettings())
    chat = Chat(core, first, clock)
    await sixty_going(chat)
    await chat.say("alice", "/cancel")  # "really?"
    first.take()
    cancel = asyncio.create_task(chat.say("alice", "/cancel yes"))
    await first.dead.wait()
    cancel.cancel()  # SIGKILL: the rest of the fan-out never happens in this process
    await asyncio.gather(cancel, return_exceptions=True)
    told_before = [s.to for s in first.sent if s.kind == "dm"]
    assert 0 < len(told_before) < 60
    await db.dispose()

    # A new process on the same database, once the dead one's claim has run out.
    again = Database(db_url)
    second = RecordingMessenger(started=set(first.started))
    restarted = Core(again, {second.platform: second}, clock, CoreSettings())
    try:
        clock.advance(CoreSettings().send_lease + timedelta(seconds=1))
        await restarted.run_due()
    finally:
        await again.dispose()
    told = Counter(told_before + [s.to for s in second.sent if s.kind == "dm"])
    assert set(told) == set(MEMBERS)
    assert all("is cancelled" in s.text for s in first.sent + second.sent if s.kind == "dm")
    twice = sorted(name for name, n in told.items() if n > 1)
    print(f"sent twice after the kill: {len(twice)} of 60 ({twice})")
    # Only rows sent but not yet recorded go out again; each with the same key both times,
    # which is what lets Matrix post it once.
    assert len(twice) <= CoreSettings().send_chunk
    keys = {s.to: s.key for s in first.sent if s.kind == "dm"}
    assert all(s.key == keys[s.to] for s in second.sent if s.kind == "dm" and s.to in keys)


async def test_messages_left_by_a_crash_are_sent_when_the_bot_starts(
        db_url: str, db: Database, clock: VirtualClock) -> None:
    first = DiesAt(1)
    core = Core(db, {first.platform: first}, clock, CoreSettings())
    chat = Chat(core, first, clock)
    await chapter(chat)
    await chat.say("bob", "/next")
    await chat.dm("bob", "/start")
    announce = asyncio.create_task(
        chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=5))}"))
    await first.dead.wait()
    announce.cancel()
    await asyncio.gather(announce, return_exceptions=True)
    await db.dispose()
    again = Database(db_url)
    try:
        async with again.transaction() as s:  # the interest list went with the DM's row
            assert await s.scalar(select(func.count()).select_from(Interest)) == 0
            assert await s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.kind == OutboxKind.DM)) == 1
        second = RecordingMessenger(started={"bob"})
        restarted = Core(again, {second.platform: second}, clock, CoreSettings())
        assert await restarted.next_due_at() is not None
        clock.advance(CoreSettings().send_lease)
        await restarted.run_due()
    finally:
        await again.dispose()
    (dm,) = second.dms("bob")
    assert dm.text.startswith("SMC Den Bosch has announced its next meetup: Borrel — ")


async def test_two_edits_of_one_message_waiting_to_be_sent_become_one(db: Database,
                                                                      clock: VirtualClock) -> None:
    chat = ChatRef("fake", "group")
    ids = []
    for text in ("3 going", "4 going"):
        async with db.transaction() as s:
            box = Outbox()
            box.edit(chat, "m1", text)
            rows = await box.store(s, clock.now(), clock.now(), serves_all)  # a claim run out
            ids.append(rows[0].id)
    assert ids[0] == ids[1]
    async with db.transaction() as s:
        payloads = list(await s.scalars(select(OutboxMessage.payload)))
    assert len(payloads) == 1 and '"4 going"' in payloads[0]


async def test_an_answer_goes_out_before_the_dms_it_causes(chat: Chat,
                                                           messenger: RecordingMessenger) -> None:
    await chapter(chat)
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=5))}; max 1")
    await chat.dm("carol", "/start")
    await chat.say("bob", "/rsvp yes")
    await chat.say("carol", "/rsvp yes")
    out = await chat.say("bob", "/rsvp no")
    assert [s.kind for s in out] == ["text", "dm"]
    assert out[0].text.startswith("Bob can't come") and out[1].to == "carol"


async def test_a_dm_to_someone_on_two_platforms_is_one_row(db: Database,
                                                           clock: VirtualClock) -> None:
    async with db.transaction() as s:
        box = Outbox()
        box.dm([UserRef("telegram", "1"), UserRef("matrix", "@b:x")], "hi", None, (1, 1, None))
        rows = await box.store(s, clock.now(), clock.now(), serves_all)
    assert len(rows) == 1 and rows[0].platform == "telegram"


def serves_all(_platform: str) -> bool:
    return True


@dataclass
class GroupLimits(RecordingMessenger):
    """Groups whose rate limit is used up until `lifted`; a send to one waits inside, as the
    Telegram limiter makes it wait. Other chats take a message at once."""

    busy: set[str] = field(default_factory=set)
    lifted: asyncio.Event = field(default_factory=asyncio.Event)

    def ready_in(self, chat: ChatRef) -> float:
        return 0.0 if self.lifted.is_set() or chat.id not in self.busy else 30.0

    async def send_text(self, chat, text, buttons=(), *, key=None):  # type: ignore[no-untyped-def]
        if chat.id in self.busy:
            await self.lifted.wait()
        return await super().send_text(chat, text, buttons, key=key)


async def test_groups_waiting_for_their_limit_leave_the_senders_to_other_chats(
        db: Database, clock: VirtualClock) -> None:
    messenger = GroupLimits(busy={"g1", "g2", "g3"})
    core = Core(db, {messenger.platform: messenger}, clock, CoreSettings(send_concurrency=2))
    async with db.transaction() as s:  # left behind by a restart: the sweep sends them
        box = Outbox()
        for group in ("g1", "g2", "g3", "quiet"):
            box.text(ChatRef(messenger.platform, group), f"hello {group}")
        await box.store(s, clock.now(), clock.now(), serves_all)
    sweep = asyncio.create_task(core.run_due())
    try:
        for _ in range(500):
            if messenger.group_texts("quiet"):
                break
            await asyncio.sleep(0.01)
        # Two senders, three groups at their limit: the quiet chat still got its message.
        assert messenger.group_texts("quiet") == ["hello quiet"]
        assert not [s for s in messenger.sent if s.to in messenger.busy]
        messenger.lifted.set()
        await asyncio.wait_for(sweep, 10)
    finally:
        sweep.cancel()
    assert sorted(s.to for s in messenger.sent) == ["g1", "g2", "g3", "quiet"]
