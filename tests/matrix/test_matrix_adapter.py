"""Against a real Synapse, with a stand-in core: commands, who may organise, RSVPs by reaction."""

from __future__ import annotations

from bot.core.messages import Button, ChatRef, RsvpAnswer
from tests.matrix.conftest import MakeBot, MakeMember
from tests.matrix.mx_helpers import is_text_from, room_with_bot


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
    await bob.say(room, "just chatting")  # not handed to the core at all
    await bob.say(room, "!meetups")
    await bot.core.wait_until(lambda: len(bot.core.messages) == 4)

    by_sender = {m.sender.id: m for m in bot.core.messages[:3]}
    assert by_sender[alice.user_id].text == "/newmeetup Borrel; 2027-03-12 19:00"
    assert by_sender[alice.user_id].sender_is_admin is True
    assert by_sender[carol.user_id].sender_is_admin is True
    assert by_sender[bob.user_id].sender_is_admin is False
    assert by_sender[bob.user_id].text == "/rsvp yes"
    assert by_sender[alice.user_id].sender.display_name == "Alice"
    assert all(m.chat == ChatRef("matrix", room) and not m.is_private for m in bot.core.messages)
    assert [m.text for m in bot.core.messages][-1] == "/meetups"
    # The stand-in answered through MatrixMessenger; members see it.
    await bob.wait_for(is_text_from(bot.user_id, room, "ok !rsvp yes"))


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
