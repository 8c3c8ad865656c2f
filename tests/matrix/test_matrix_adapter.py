"""The adapter against a real Synapse, with a recording stand-in for the core."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.adapters.matrix.content import POLL_START
from bot.core.messages import Button, ChatRef, RsvpAnswer, UserRef
from bot.core.ports import CannotDM
from tests.matrix.conftest import MakeBot, MakeMember
from tests.matrix.mx_helpers import is_member_join, is_text_from, room_with_bot


async def test_commands_carry_organiser_flag_on_room_v12(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot()
    alice, bob, carol = [await make_member(n) for n in ("alice", "bob", "carol")]
    room = await room_with_bot(alice, bot.user_id, bob, carol)
    create = await alice.state_event(room, "m.room.create")
    assert create["room_version"] == "12"  # Synapse's default: creators are not in the PLs
    levels = await alice.state_event(room, "m.room.power_levels")
    assert alice.user_id not in levels.get("users", {})
    await alice.set_power_level(room, carol.user_id, 50)

    await alice.say(room, "!newmeetup Borrel; 2027-03-12 19:00")
    await bob.say(room, "!rsvp yes")
    await carol.say(room, "/closepoll")
    await bob.say(room, "just chatting")
    await bot.core.wait_until(lambda: len(bot.core.messages) == 4)

    by_sender = {m.sender.id: m for m in bot.core.messages if m.text.startswith("/")}
    assert by_sender[alice.user_id].text == "/newmeetup Borrel; 2027-03-12 19:00"
    assert by_sender[alice.user_id].sender_is_admin is True
    assert by_sender[carol.user_id].sender_is_admin is True
    assert by_sender[bob.user_id].sender_is_admin is False
    assert by_sender[bob.user_id].text == "/rsvp yes"
    assert by_sender[alice.user_id].sender.display_name == "Alice"
    assert all(m.chat == ChatRef("matrix", room) and not m.is_private for m in bot.core.messages)
    assert bot.core.messages[-1].text == "just chatting"
    # The stand-in answered through MatrixMessenger; members see it.
    await bob.wait_for(is_text_from(bot.user_id, room, "ok !rsvp yes"))


async def test_poll_as_element_sends_it_and_responses_in_both_forms(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot()
    alice, bob, carol = [await make_member(n) for n in ("alice", "bob", "carol")]
    room = await room_with_bot(alice, bot.user_id, bob, carol)
    chat = ChatRef("matrix", room)

    sent = await bot.adapter.messenger.send_poll(chat, "Which dates?", ["Thu 12", "Fri 13"], True)
    assert sent.platform_poll_id == sent.message_id
    _, start = await bob.wait_for(lambda r, e: e.get("type") == POLL_START)
    assert start["event_id"] == sent.message_id
    poll = start["content"]["org.matrix.msc3381.poll.start"]
    assert poll["kind"] == "org.matrix.msc3381.poll.disclosed"
    assert poll["max_selections"] == 2
    assert poll["question"]["org.matrix.msc1767.text"] == "Which dates?"
    assert [a["org.matrix.msc1767.text"] for a in poll["answers"]] == ["Thu 12", "Fri 13"]
    assert len({a["id"] for a in poll["answers"]}) == 2
    assert start["content"]["org.matrix.msc1767.text"] == "Which dates?\n1. Thu 12\n2. Fri 13"

    ids = [a["id"] for a in poll["answers"]]
    ref = {"rel_type": "m.reference", "event_id": sent.message_id}
    await bob.send(room, "org.matrix.msc3381.poll.response",
                   {"m.relates_to": ref, "org.matrix.msc3381.poll.response": {"answers": [ids[1]]}})
    await carol.send(room, "m.poll.response", {"m.relates_to": ref, "m.selections": ids})
    await bob.send(room, "org.matrix.msc3381.poll.response",
                   {"m.relates_to": ref, "org.matrix.msc3381.poll.response": {"answers": []}})
    await bot.core.wait_until(lambda: len(bot.core.poll_answers) == 3)
    got = [(a.voter.id, a.option_indexes, a.platform_poll_id) for a in bot.core.poll_answers]
    assert got == [
        (bob.user_id, (1,), sent.platform_poll_id),
        (carol.user_id, (0, 1), sent.platform_poll_id),
        (bob.user_id, (), sent.platform_poll_id),
    ]

    await bot.adapter.messenger.close_poll(sent)
    _, end = await bob.wait_for(lambda r, e: e.get("type") == "org.matrix.msc3381.poll.end")
    assert end["content"]["m.relates_to"] == ref
    assert end["content"]["org.matrix.msc1767.text"]
    await bob.send(room, "org.matrix.msc3381.poll.response",
                   {"m.relates_to": ref, "org.matrix.msc3381.poll.response": {"answers": [ids[0]]}})
    await bob.say(room, "!marker")
    await bot.core.wait_until(lambda: "/marker" in bot.core.texts())
    assert len(bot.core.poll_answers) == 3  # the response after the end did not count


async def test_rsvp_by_reaction_and_taking_it_back(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot()
    alice, bob = await make_member("alice"), await make_member("bob")
    room = await room_with_bot(alice, bot.user_id, bob)
    buttons = [Button("Going", "rsvp:7:yes"), Button("Maybe", "rsvp:7:maybe"),
               Button("Can't", "rsvp:7:no")]
    sent = await bot.adapter.messenger.send_text(ChatRef("matrix", room), "Borrel Thu", buttons)
    _, msg = await bob.wait_for(lambda r, e: e.get("event_id") == sent.message_id)
    assert msg["content"]["body"] == "Borrel Thu\n\n✅ Going  🤔 Maybe  ❌ Can't"
    seeded = [await bob.wait_for(lambda r, e, k=k: e.get("type") == "m.reaction"
                                 and e["content"]["m.relates_to"]["key"] == k)
              for k in ("✅", "🤔", "❌")]
    assert all(e["sender"] == bot.user_id for _, e in seeded)

    yes = await bob.react(room, sent.message_id, "✅")
    await bot.core.wait_until(lambda: len(bot.core.reactions) == 1)
    no = await bob.react(room, sent.message_id, "❌")
    await bot.core.wait_until(lambda: len(bot.core.reactions) == 2)
    await bob.redact(room, no)  # back to "going"
    await bot.core.wait_until(lambda: len(bot.core.reactions) == 3)
    await bob.redact(room, yes)  # nothing left: the RSVP is taken back
    await bot.core.wait_until(lambda: len(bot.core.reactions) == 4)
    answers = [(r.sender.id, r.message_id, r.answer) for r in bot.core.reactions]
    assert answers == [
        (bob.user_id, sent.message_id, RsvpAnswer.YES),
        (bob.user_id, sent.message_id, RsvpAnswer.NO),
        (bob.user_id, sent.message_id, RsvpAnswer.YES),
        (bob.user_id, sent.message_id, None),
    ]
    assert all(r.chat == ChatRef("matrix", room) for r in bot.core.reactions)


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
