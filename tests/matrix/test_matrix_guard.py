"""A bot that accepts invites from anyone: a poisoned room, rooms that never become a
chapter, chatter, long answers and votes from outside, against the real Synapse."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import event, select

from bot.adapters.matrix import DbStateStore, MatrixMessenger
from bot.adapters.matrix.calls import MatrixCallError
from bot.adapters.matrix.content import POLL_START
from bot.adapters.matrix.rooms import RoomDirectory
from bot.adapters.matrix.sync import HANDLED_TOKEN_SAVE_S
from bot.core.app import Core
from bot.core.messages import ChatRef, Inbound, UserRef
from bot.core.settings import CoreSettings
from bot.db.models import Person, Vote
from bot.db.session import Database
from tests.fakes import RecordingMessenger
from tests.matrix.conftest import MakeBot, MakeMember, RealCore
from tests.matrix.mx_helpers import is_member_join, is_text_from, room_with_bot
from tests.matrix.mx_members import Member


async def poisoned_room(mallory: Member, bot_id: str) -> str:
    """A room-version-11 room whose create event carries `additional_creators: 5`: Synapse
    checks that field only from version 12, so it takes it, and the bot is invited."""
    made = await mallory.raw("POST", "/_matrix/client/v3/createRoom", {
        "room_version": "11", "preset": "private_chat", "name": "poison",
        "creation_content": {"additional_creators": 5},
    })
    room_id = str(made["room_id"])
    create = await mallory.state_event(room_id, "m.room.create")
    assert create["additional_creators"] == 5
    await mallory.invite(room_id, bot_id)
    return room_id


async def test_a_poisoned_room_stops_nothing(
    make_bot: MakeBot, make_member: MakeMember, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await make_bot()
    alice, mallory = await make_member("alice"), await make_member("mallory")
    chapter = await room_with_bot(alice, bot.user_id)
    await alice.say(chapter, "!before")
    await alice.wait_for(is_text_from(bot.user_id, chapter, "ok !before"))

    poison = await poisoned_room(mallory, bot.user_id)
    await mallory.wait_for(lambda r, e: r == poison and is_member_join(bot.user_id)(r, e))
    await mallory.say(poison, "!help")
    await alice.say(chapter, "!after")
    await alice.wait_for(is_text_from(bot.user_id, chapter, "ok !after"))
    # The poisoned room itself is served like any other: its creators are read safely.
    await mallory.wait_for(is_text_from(bot.user_id, poison, "ok !help"))

    # And the bot still joins new rooms, and answers there.
    bob = await make_member("bob")
    fresh = await room_with_bot(bob, bot.user_id)
    await bob.say(fresh, "!hello")
    await bob.wait_for(is_text_from(bot.user_id, fresh, "ok !hello"))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_room_that_keeps_failing_is_skipped_after_a_few_tries(
    make_bot: MakeBot, make_member: MakeMember, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever the bug, one room's part of a sync costs a few reads of the batch, then it is
    skipped and logged with the room's id; the other rooms are answered meanwhile."""
    bot = await make_bot()
    alice, mallory = await make_member("alice"), await make_member("mallory")
    chapter = await room_with_bot(alice, bot.user_id)
    broken = await room_with_bot(mallory, bot.user_id)
    apply = RoomDirectory.apply

    def buggy(self: RoomDirectory, room_id: str, event: Mapping[str, Any]) -> None:
        if room_id == broken and event.get("type") == "m.room.topic":
            raise RuntimeError("a bug that only this room's topic meets")
        apply(self, room_id, event)

    monkeypatch.setattr(RoomDirectory, "apply", buggy)
    await mallory.send_state(broken, "m.room.topic", {"topic": "🧨"})
    await alice.say(chapter, "!during")
    await alice.wait_for(is_text_from(bot.user_id, chapter, "ok !during"))

    def skipped() -> bool:
        return any("skipped" in r.getMessage() and broken in r.getMessage()
                   for r in caplog.records)

    await alice.wait_until(skipped, within=30)
    await mallory.say(broken, "!later")
    await mallory.wait_for(is_text_from(bot.user_id, broken, "ok !later"))
    await alice.say(chapter, "!still")
    await alice.wait_for(is_text_from(bot.user_id, chapter, "ok !still"))
    assert bot.core.texts().count("/during") == 1


def long_intro(i: int) -> str:
    return f"Lid {i}, ik fiets 🚲 ".ljust(190, "🌷")


async def seed_going(core: Core, room: str, members: int) -> list[str]:
    """`members` people of the room write an intro in their DM and say yes; returns their
    names. (They talk to a second core on the same database, which answers into a recorder:
    a hundred accounts on Synapse would only make the test slow.)"""
    names = []
    for i in range(members):
        person = UserRef("matrix", f"@member{i}:localhost", f"Member {i:03d}")
        await core.handle_message(Inbound(ChatRef("matrix", f"!dm{i}:localhost"), person,
                                          f"/intro {long_intro(i)}", is_private=True))
        await core.handle_message(Inbound(ChatRef("matrix", room), person, "/rsvp yes"))
        names.append(person.display_name)
    return names


async def test_a_big_who_comes_in_several_messages(
    make_bot: MakeBot, make_member: MakeMember, real_core: RealCore
) -> None:
    bot = await make_bot(core_factory=real_core)
    alice, bob = await make_member("alice"), await make_member("bob")
    room = await room_with_bot(alice, bot.user_id, bob)
    await alice.say(room, "!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await alice.wait_for(is_text_from(bot.user_id, room, "SMC Den Bosch"))
    await alice.say(room, "!newmeetup Tweetup; 2026-12-10 19:30; Verkadefabriek")
    await alice.wait_for(is_text_from(bot.user_id, room, "Tweetup"))
    seeder = Core(real_core.db, {"matrix": RecordingMessenger(platform="matrix")},
                  real_core.clock, CoreSettings())
    names = await seed_going(seeder, room, 100)

    mark = len(bob.timeline)
    await bob.say(room, "!who")
    await bob.wait_for(is_text_from(bot.user_id, room, names[-1]), after=mark, within=30)
    replies = [e for r, e in bob.timeline[mark:]
               if r == room and e.get("sender") == bot.user_id]
    bodies = [e["content"]["body"] for e in replies]
    assert len(bodies) >= 3
    assert all(len(json.dumps(e, ensure_ascii=False).encode()) < 65_536 for e in replies)
    whole = "\n".join(bodies)
    assert len(whole.encode()) > 65_536
    assert "Going (100):" in bodies[0]
    for i, name in enumerate(names):  # every line whole, in order
        assert f"• {name} — {long_intro(i)}" in whole.split("\n")


def count_writes(db: Database) -> list[str]:
    """Every INSERT, UPDATE and DELETE the database is sent from now on."""
    writes: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    return writes


async def test_chatter_costs_no_database_write(
    make_bot: MakeBot, make_member: MakeMember, real_core: RealCore
) -> None:
    db = real_core.db
    writes = count_writes(db)
    at_marker: list[int] = []

    class Marking(Core):
        async def handle_message(self, msg: Inbound) -> None:
            if msg.text == "/meetups":
                at_marker.append(len(writes))
            await super().handle_message(msg)

    def build(messenger: MatrixMessenger) -> Core:
        return Marking(db, {"matrix": messenger}, real_core.clock, CoreSettings())

    bot = await make_bot(core_factory=build, store=DbStateStore(db))
    alice, bob = await make_member("alice"), await make_member("bob")
    room = await room_with_bot(alice, bot.user_id, bob)
    await alice.say(room, "!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await alice.wait_for(is_text_from(bot.user_id, room, "SMC Den Bosch"))
    await asyncio.sleep(HANDLED_TOKEN_SAVE_S + 1)  # the batch of the !setup is written down
    before = len(writes)

    chatter = await bob.say(room, "Hoi allemaal! Wie komt er donderdag?")
    await alice.say(room, "Ik! ✅")
    await alice.react(room, chatter, "✅")  # under chatter: no RSVP
    await bob.say(room, "> Ik! ✅\n\nleuk")
    await alice.say(room, "!meetups")  # read after the chatter, in order
    await alice.wait_for(is_text_from(bot.user_id, room, "No meetups"))
    assert at_marker == [before]


async def test_rooms_that_never_become_a_chapter_are_left(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot(leave_unbound_after_s=1.0, unbound_sweep_s=0.3)
    alice, carol = await make_member("alice"), await make_member("carol")
    idle = await room_with_bot(alice, bot.user_id)
    chapter = await room_with_bot(alice, bot.user_id)
    bot.core.chapter_rooms.add(chapter)  # someone ran !setup there
    dm = await carol.create_room([bot.user_id], is_direct=True)
    await carol.wait_for(lambda r, e: r == dm and is_member_join(bot.user_id)(r, e))

    _, notice = await alice.wait_for(is_text_from(bot.user_id, idle, "leaving"), within=20)
    assert "!setup" in notice["content"]["body"]
    await alice.wait_for(lambda r, e: r == idle and e.get("type") == "m.room.member"
                         and e.get("state_key") == bot.user_id
                         and e["content"]["membership"] == "leave")
    await asyncio.sleep(1.5)  # a few more sweeps
    await alice.say(chapter, "!still-here")
    await alice.wait_for(is_text_from(bot.user_id, chapter, "ok !still-here"))
    await carol.say(dm, "!start")
    await carol.wait_for(is_text_from(bot.user_id, dm, "ok !start"))
    assert not [b for b in alice.bodies(chapter, bot.user_id) if "leaving" in b]


async def test_only_members_of_the_room_vote(
    make_bot: MakeBot, make_member: MakeMember, real_core: RealCore
) -> None:
    bot = await make_bot(core_factory=real_core)
    alice, bob, carol, mallory = [await make_member(n)
                                  for n in ("alice", "bob", "carol", "mallory")]
    room = await room_with_bot(alice, bot.user_id, bob, carol)
    await alice.say(room, "!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await alice.wait_for(is_text_from(bot.user_id, room, "SMC Den Bosch"))
    await alice.say(room, "!newmeetup Tweetup; 2026-12-10 19:30 | 2026-12-11 19:30")
    _, start = await bob.wait_for(lambda r, e: r == room and e.get("type") == POLL_START)
    ref = {"rel_type": "m.reference", "event_id": start["event_id"]}

    # Mallory, outside the room, can't answer at all: the homeserver takes events in a room
    # only from its members, and refuses a response sent from another room.
    elsewhere = await room_with_bot(mallory, bot.user_id)
    with pytest.raises(MatrixCallError, match="same room"):
        await mallory.send(elsewhere, "m.poll.response",
                           {"m.relates_to": ref, "m.selections": ["1"]})
    await bob.send(room, "m.poll.response", {"m.relates_to": ref, "m.selections": ["1"]})
    await alice.say(room, "!meetups")  # handled after Bob's vote
    await alice.wait_for(is_text_from(bot.user_id, room, "Tweetup"), after=len(alice.timeline))
    async with real_core.db.transaction() as s:
        names = list(await s.scalars(select(Person.display_name).join(
            Vote, Vote.person_id == Person.id).distinct()))
    assert names == ["Bob"]

    # What the core asks the room, for a voter it doesn't know yet: the room's members.
    await carol.raw("POST", f"/_matrix/client/v3/rooms/{quote(room, safe='')}/leave", {})
    await alice.wait_for(lambda r, e: r == room and e.get("state_key") == carol.user_id
                         and e["content"].get("membership") == "leave")
    await asyncio.sleep(0.5)  # the bot's sync saw it too
    messenger = bot.adapter.messenger
    chat = ChatRef("matrix", room)
    assert await messenger.is_member(chat, UserRef("matrix", bob.user_id))
    assert not await messenger.is_member(chat, UserRef("matrix", carol.user_id))
    assert not await messenger.is_member(chat, UserRef("matrix", mallory.user_id))
