"""Linking two Matrix rooms on a real Synapse: the code comes in a direct room, a member who
reads the whole room gets nowhere, both rooms hear the link and the unlink, and the "really?"
question tells Matrix users what to send (no buttons there)."""

from __future__ import annotations

import asyncio
import contextlib
import re

from tests.matrix.conftest import MakeBot, MakeMember, RealCore
from tests.matrix.mx_helpers import is_text_from, room_with_bot
from tests.matrix.mx_members import Member


async def accept_invites(member: Member) -> None:
    while True:
        room_id, _ = await member.wait_for_invite(within=60)
        await member.join(room_id)


async def test_two_rooms_linked_by_a_code_in_a_dm_then_unlinked(
    make_bot: MakeBot, make_member: MakeMember, real_core: RealCore
) -> None:
    bot = await make_bot(core_factory=real_core, dm_invite_timeout_s=20)
    alice, bob, mia = [await make_member(n) for n in ("alice", "bob", "mia")]
    home = await room_with_bot(alice, bot.user_id, bob)  # alice: power 100, bob: 0
    other = await room_with_bot(mia, bot.user_id, bob)  # mia's own room

    async def command(room: str, by: Member, text: str, expect: str) -> str:
        mark = len(by.timeline)
        await by.say(room, text)
        _, reply = await by.wait_for(is_text_from(bot.user_id, room, expect), after=mark,
                                     within=30)
        return str(reply["content"]["body"])

    await command(home, alice, "!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en",
                  "SMC Den Bosch")
    accepting = asyncio.create_task(accept_invites(alice))
    try:
        reply = await command(home, alice, "!link", "sent you a link code")
        assert "!link" not in reply.replace("!link here", "")
        _, dm = await alice.wait_for(
            lambda r, e: r not in (home, other)
            and is_text_from(bot.user_id, contains="!link ")(r, e), within=30)
    finally:
        accepting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await accepting
    code = re.search(r"!link ([0-9A-F]{12})", dm["content"]["body"])
    assert code is not None

    # Bob reads everything the bot said in the room he shares with Alice; nothing works.
    assert "Only organisers" in await command(home, bob, "!link", "Only organisers")
    for word in sorted({w for b in bob.bodies(home, bot.user_id)
                        for w in re.findall(r"\w{6,}", b)})[:8]:
        await command(other, bob, f"!link {word}", "Only the group's admins")
    assert not any(code.group(1) in b for b in bob.bodies(home, bot.user_id))

    # Mia, admin of her room, uses the code Alice handed her: both rooms hear it.
    await command(other, mia, f"!link {code.group(1)}", "is now part of SMC Den Bosch")
    await alice.wait_for(is_text_from(bot.user_id, home, "is now part of SMC Den Bosch"),
                         within=30)

    # Alice unlinks Mia's room: the question says what to send, the answer goes to both.
    question = await command(home, alice, "!unlink 2", "Unlink the Matrix room")
    assert question.endswith("send !unlink 2 yes within a minute.")  # no stray button line
    await command(home, alice, "!unlink 2 yes", "is no longer part of SMC Den Bosch")
    await mia.wait_for(is_text_from(bot.user_id, other, "is no longer part of SMC Den Bosch"),
                       within=30)
    await command(other, mia, "!who", "not a chapter yet")
