"""DMs on Matrix: one room per person, invites ignored or refused, DMs that members start."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.adapters.matrix import MatrixMessenger
from bot.core.messages import Button, ChatRef, Inbound, RsvpAnswer, UserRef
from bot.core.ports import CannotDM
from tests.matrix.conftest import MakeBot, MakeMember
from tests.matrix.mx_helpers import is_member_join, is_text_from, room_with_bot
from tests.matrix.mx_recorder import RecordingCore


async def test_dm_room_is_created_once_and_kept_in_m_direct(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot()
    bob = await make_member("bob")

    async def accept() -> str:
        room_id, invite = await bob.wait_for_invite()
        assert invite["content"].get("is_direct") is True
        await bob.join(room_id)
        return room_id

    acceptor = asyncio.create_task(accept())
    sent = await bot.adapter.messenger.send_dm(UserRef("matrix", bob.user_id, "Bob"), "Reminder 1")
    dm_room = await acceptor
    assert sent.chat.id == dm_room
    await bob.wait_for(is_text_from(bot.user_id, dm_room, "Reminder 1"))
    direct = await bot.adapter.client.list_direct_rooms()
    assert direct.rooms == {bob.user_id: [dm_room]}

    again = await bot.adapter.messenger.send_dm(UserRef("matrix", bob.user_id), "Reminder 2")
    assert again.chat.id == dm_room
    await bob.wait_for(is_text_from(bot.user_id, dm_room, "Reminder 2"))

    await bob.say(dm_room, "!meetups")
    await bot.core.wait_until(lambda: "/meetups" in bot.core.texts())
    assert bot.core.messages[-1].is_private is True


async def test_a_followers_dm_takes_rsvp_reactions(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot()
    bob = await make_member("bob")

    async def accept() -> str:
        room_id, _invite = await bob.wait_for_invite()
        await bob.join(room_id)
        return room_id

    acceptor = asyncio.create_task(accept())
    buttons = [Button("✅ Going", "rsvp:7:yes"), Button("🤔 Maybe", "rsvp:7:maybe"),
               Button("❌ Can't", "rsvp:7:no")]
    sent = await bot.adapter.messenger.send_dm(UserRef("matrix", bob.user_id, "Bob"),
                                               "New meetup", buttons=buttons)
    dm_room = await acceptor
    assert sent.chat.id == dm_room
    _, msg = await bob.wait_for(lambda r, e: e.get("event_id") == sent.message_id)
    assert msg["content"]["body"] == "New meetup\n\n✅ Going  🤔 Maybe  ❌ Can't"
    await bob.react(dm_room, sent.message_id, "🤔")
    await bot.core.wait_until(lambda: len(bot.core.reactions) == 1)
    (reaction,) = bot.core.reactions
    assert (reaction.chat, reaction.message_id, reaction.answer) == (
        ChatRef("matrix", dm_room), sent.message_id, RsvpAnswer.MAYBE)


async def test_dm_not_accepted_is_cannot_dm_and_does_not_block_again(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot(dm_invite_timeout_s=1.5)
    carol, dave = await make_member("carol"), await make_member("dave")
    user = UserRef("matrix", carol.user_id, "Carol")
    with pytest.raises(CannotDM) as caught:
        await bot.adapter.messenger.send_dm(user, "Reminder")
    assert "invite" in caught.value.start_hint
    assert caught.value.start_hint == bot.adapter.messenger.start_hint(user)
    started = time.monotonic()
    with pytest.raises(CannotDM):
        await bot.adapter.messenger.send_dm(user, "Reminder again")
    assert time.monotonic() - started < 1.0  # the stale invite is not waited on twice
    room_id, _ = await carol.wait_for_invite()
    assert len(carol.invites) == 0  # one direct room, not one per attempt
    await carol.join(room_id)
    sent = await bot.adapter.messenger.send_dm(user, "Now it works")
    assert sent.chat.id == room_id
    # What was sent while the invite was open waits in the room for her.
    await carol.wait_for(is_text_from(bot.user_id, room_id, "Now it works"))
    history = await carol.client.room_messages(room_id, limit=20)
    bodies = [e.source["content"].get("body") for e in reversed(history.chunk)
              if e.source.get("type") == "m.room.message"]
    assert bodies == ["Reminder", "Reminder again", "Now it works"]

    # Refusing the invite ends the wait at once.
    async def refuse() -> None:
        room, _ = await dave.wait_for_invite()
        await dave.client.room_leave(room)

    patient = await make_bot(dm_invite_timeout_s=30)
    refusal = asyncio.create_task(refuse())
    started = time.monotonic()
    with pytest.raises(CannotDM):
        await patient.adapter.messenger.send_dm(UserRef("matrix", dave.user_id), "Hi")
    await refusal
    assert time.monotonic() - started < 10


async def test_person_opens_a_dm_with_the_bot(make_bot: MakeBot, make_member: MakeMember) -> None:
    bot = await make_bot()
    dave = await make_member("dave")
    room = await dave.create_room([bot.user_id], is_direct=True)
    await dave.wait_for(lambda r, e: r == room and is_member_join(bot.user_id)(r, e))
    await dave.say(room, "!start")
    await bot.core.wait_until(lambda: "/start" in bot.core.texts())
    assert bot.core.messages[-1].is_private is True
    direct = await bot.adapter.client.list_direct_rooms()
    assert direct.rooms == {dave.user_id: [room]}


async def test_first_message_of_a_dm_started_in_element_is_answered(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    """Element makes a direct room only when the first message is sent: the room, the
    invite and "!start" are all there before the bot has joined. The bot must answer it
    (the core's own "can't DM" hint tells people to do exactly this)."""
    bot = await make_bot()
    dave, erin = await make_member("dave"), await make_member("erin")
    old = await erin.create_room()
    await erin.say(old, "!history")  # before the bot was invited: not for the bot
    # Stopped, so the order is certain: both messages land before the bot can join.
    await bot.adapter.stop()
    dm = await dave.create_room([bot.user_id], is_direct=True)
    await dave.say(dm, "!start")
    await erin.invite(old, bot.user_id)
    await erin.say(old, "!setup SMC Veghel; Veghel; Europe/Amsterdam; nl")
    again = await make_bot(settings=bot.settings, store=bot.store)
    await dave.wait_for(is_text_from(bot.user_id, dm, "ok !start"))
    await erin.wait_for(is_text_from(bot.user_id, old, "ok !setup"))
    assert [m.text for m in again.core.messages if m.chat.id == dm] == ["/start"]
    assert all(m.is_private == (m.chat.id == dm) for m in again.core.messages)
    assert [m.text for m in again.core.messages if m.chat.id == old] == [
        "/setup SMC Veghel; Veghel; Europe/Amsterdam; nl"]


class DmDuringCommandCore(RecordingCore):
    """Like the core on "!rsvp no" with a waitlist: the command's effects DM someone else
    (the person moved up), who has no direct room with the bot yet."""

    def __init__(self, dm_to: str) -> None:
        super().__init__()
        self.dm_to = dm_to
        self.dm_result: str | None = None

    async def handle_message(self, msg: Inbound) -> None:
        await super().handle_message(msg)
        if msg.text == "/rsvp no" and self.messenger is not None:
            try:
                await self.messenger.send_dm(UserRef("matrix", self.dm_to), "You moved up!")
                self.dm_result = "sent"
            except CannotDM:
                self.dm_result = "cannot"


async def test_a_dm_caused_by_a_command_does_not_make_the_bot_deaf(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    """Waiting for a DM invite to be accepted (minutes, by default) must not stop the bot
    from answering everyone else in the meantime."""
    alice, bob, carol = [await make_member(n) for n in ("alice", "bob", "carol")]
    core = DmDuringCommandCore(carol.user_id)

    def build(messenger: MatrixMessenger) -> DmDuringCommandCore:
        core.messenger = messenger
        return core

    bot = await make_bot(core_factory=build, dm_invite_timeout_s=60)
    room = await room_with_bot(alice, bot.user_id, bob)
    await bob.say(room, "!rsvp no")
    invited, _ = await carol.wait_for_invite()  # carol is busy: she doesn't accept yet
    started = time.monotonic()
    await alice.say(room, "!who")
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !who"), within=30)
    assert time.monotonic() - started < 10
    # The DM is waiting for carol in the direct room when she does accept.
    await carol.join(invited)
    history = await carol.client.room_messages(invited, limit=20)
    assert any(e.source["content"].get("body") == "You moved up!" for e in history.chunk)
    await core.wait_until(lambda: core.dm_result is not None)
    assert core.dm_result == "sent"
