"""What a member using Element, or an operator, would hit: found in review, against Synapse."""

from __future__ import annotations

import time

from bot.adapters.matrix import MatrixMessenger
from bot.adapters.matrix.content import POLL_START
from bot.core.messages import ChatRef, Inbound, UserRef
from bot.core.ports import CannotDM
from tests.matrix.conftest import MakeBot, MakeMember
from tests.matrix.mx_helpers import is_text_from, room_with_bot
from tests.matrix.mx_recorder import RecordingCore


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


async def test_poll_fallback_body_and_a_spoiled_vote_as_element_counts_them(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    """Clients without polls show the numbered options from the body; a response with an
    unknown answer is spoiled (MSC3381, and Element's tally): it takes the vote back
    rather than counting the known half of it."""
    bot = await make_bot()
    alice, bob = await make_member("alice"), await make_member("bob")
    room = await room_with_bot(alice, bot.user_id, bob)
    sent = await bot.adapter.messenger.send_poll(
        ChatRef("matrix", room), "Which dates?", ["Thu 12", "Fri 13", "Sat 14"], True)
    _, start = await bob.wait_for(lambda r, e: e.get("type") == POLL_START)
    assert start["content"]["body"] == "Which dates?\n1. Thu 12\n2. Fri 13\n3. Sat 14"
    ref = {"rel_type": "m.reference", "event_id": sent.message_id}
    await bob.send(room, "m.poll.response", {"m.relates_to": ref, "m.selections": ["1", "2"]})
    await bob.send(room, "m.poll.response",
                   {"m.relates_to": ref, "m.selections": ["3", "no-such-answer"]})
    await bot.core.wait_until(lambda: len(bot.core.poll_answers) == 2)
    assert [a.option_indexes for a in bot.core.poll_answers] == [(0, 1), ()]
