"""A copy that lost its lead stops syncing (another copy may read the account now) and goes on
from its saved sync token when it leads again; sends still go while it does not read."""

from __future__ import annotations

import asyncio

from bot.core.messages import ChatRef
from tests.matrix.conftest import MakeBot, MakeMember
from tests.matrix.mx_helpers import is_text_from, room_with_bot


async def test_a_paused_bot_reads_nothing_and_resumes_where_it_stopped(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot()
    alice = await make_member("alice")
    room = await room_with_bot(alice, bot.user_id)
    await alice.say(room, "!one")
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !one"))

    await bot.adapter.pause_input()
    await alice.say(room, "!two")  # while this copy does not lead
    await bot.adapter.messenger.send_text(ChatRef("matrix", room), "still sending")
    await alice.wait_for(is_text_from(bot.user_id, room, "still sending"))
    await asyncio.sleep(2)
    assert bot.core.texts() == ["/one"]

    await bot.adapter.resume_input()
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !two"))
    await alice.say(room, "!three")
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !three"))
    assert bot.core.texts() == ["/one", "/two", "/three"]
