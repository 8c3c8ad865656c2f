"""A chapter on Matrix from !setup to the reminder, and a poll ended in Element, on a real Synapse.

Issue 4's "Must show", through the real core, against the real Synapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.adapters.matrix.content import POLL_END, POLL_START
from tests.matrix.conftest import START, MakeBot, MakeMember, RealCore
from tests.matrix.mx_helpers import is_text_from, room_with_bot
from tests.matrix.mx_members import Member

TZ = ZoneInfo("Europe/Amsterdam")


def local(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


async def accept_invites(member: Member) -> None:
    while True:
        room_id, _ = await member.wait_for_invite(within=3600)
        await member.join(room_id)


async def test_chapter_on_matrix_from_setup_to_reminder(
    make_bot: MakeBot, make_member: MakeMember, real_core: RealCore
) -> None:
    bot = await make_bot(core_factory=real_core, dm_invite_timeout_s=20)
    core, clock = real_core.core, real_core.clock
    assert core is not None
    alice, bob, carol, dave = [await make_member(n) for n in ("alice", "bob", "carol", "dave")]
    room = await room_with_bot(alice, bot.user_id, bob, carol, dave)
    said = len(alice.timeline)

    async def command(text: str, by: Member, expect: str) -> str:
        mark = len(by.timeline)
        await by.say(room, text)
        _, reply = await by.wait_for(is_text_from(bot.user_id, room, expect), after=mark)
        return str(reply["content"]["body"])

    await command("!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en", alice, "SMC Den Bosch")
    d1, d2 = START + timedelta(days=5), START + timedelta(days=6)
    await alice.say(room, f"!newmeetup Tweetup #1; {local(d1)} | {local(d2)}; Verkadefabriek")
    _, start = await bob.wait_for(lambda r, e: r == room and e.get("type") == POLL_START)
    poll = start["content"]["org.matrix.msc3381.poll.start"]
    assert poll["kind"] == "org.matrix.msc3381.poll.disclosed"
    assert poll["max_selections"] == 2 and len(poll["answers"]) == 2
    first, second = (a["id"] for a in poll["answers"])
    ref = {"rel_type": "m.reference", "event_id": start["event_id"]}
    await bob.send(room, "org.matrix.msc3381.poll.response",
                   {"m.relates_to": ref, "org.matrix.msc3381.poll.response": {"answers": [first]}})
    await carol.send(room, "m.poll.response", {"m.relates_to": ref, "m.selections": [second]})
    # Carol changes her mind: her latest response counts.
    await carol.send(room, "m.poll.response",
                     {"m.relates_to": ref, "m.selections": [first, second]})

    await command("!vote 2", dave, "")  # a text vote counts too

    closing = await command("!closepoll", alice, "Tweetup #1 is on")
    # 2 votes each (bob+carol, carol+dave): the tie goes to the earlier date.
    assert re.search(r"1\. .*: 2\n2\. .*: 2", closing), closing
    await bob.wait_for(lambda r, e: r == room and e.get("type") == POLL_END
                       and e["content"]["m.relates_to"] == ref)
    _, announcement = await bob.wait_for(is_text_from(bot.user_id, room, "Tweetup #1 is on"))
    assert "✅" in announcement["content"]["body"]

    # A response after the end event changes nothing.
    await bob.send(room, "org.matrix.msc3381.poll.response",
                   {"m.relates_to": ref, "org.matrix.msc3381.poll.response": {"answers": [second]}})

    going = await bob.react(room, announcement["event_id"], "✅")
    who = await command("!who", alice, "Going (1)")
    assert "Bob" in who.split("Going (1)")[1].split("Maybe")[0]
    await bob.redact(room, going)  # taking the reaction away takes the RSVP back
    await command("!who", alice, "Going (0)")
    await bob.react(room, announcement["event_id"], "✅")
    who = await command("!who", alice, "Going (1)")
    assert "Bob" in who.split("Going (1)")[1].split("Maybe")[0]

    accepting = asyncio.create_task(accept_invites(bob))
    try:
        clock.set(d1 - timedelta(hours=24) + timedelta(minutes=1))
        await core.run_due()
        _, reminder = await bob.wait_for(
            lambda r, e: r != room and is_text_from(bot.user_id, contains="Reminder:")(r, e))
        dm_room = reminder and bob.timeline[-1][0]
        assert "Tweetup #1 starts in 1 day" in reminder["content"]["body"]
        assert await core.run_due() == 0
        await alice.say(room, "!meetups")  # something later, to be sure nothing else came
        await alice.wait_for(is_text_from(bot.user_id, room, "Tweetup #1"), after=said + 1)
        await asyncio.sleep(0.5)
        reminders = [b for b in bob.bodies(dm_room, bot.user_id) if b.startswith("Reminder:")]
        assert reminders == [reminder["content"]["body"]]
        direct = await bot.adapter.client.list_direct_rooms()
        assert direct.rooms.get(bob.user_id) == [dm_room]
    finally:
        accepting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await accepting


async def test_an_organiser_ending_the_poll_in_element_closes_it(
    make_bot: MakeBot, make_member: MakeMember, real_core: RealCore
) -> None:
    bot = await make_bot(core_factory=real_core)
    alice, bob = [await make_member(n) for n in ("alice", "bob")]
    room = await room_with_bot(alice, bot.user_id, bob)
    mark = len(alice.timeline)
    await alice.say(room, "!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await alice.wait_for(is_text_from(bot.user_id, room, "SMC Den Bosch"), after=mark)
    d1, d2 = START + timedelta(days=5), START + timedelta(days=6)
    await alice.say(room, f"!newmeetup Borrel; {local(d1)} | {local(d2)}")
    _, start = await bob.wait_for(lambda r, e: r == room and e.get("type") == POLL_START)
    _first, second = (a["id"] for a in start["content"][POLL_START]["answers"])
    ref = {"rel_type": "m.reference", "event_id": start["event_id"]}
    await bob.send(room, "m.poll.response", {"m.relates_to": ref, "m.selections": [second]})
    mark = len(bob.timeline)
    # bob (power level 0) ends it in his client: refused, the poll stays open
    await bob.send(room, "m.poll.end", {"m.relates_to": ref, "m.text": [{"body": "Ended"}]})
    await bob.wait_for(is_text_from(bot.user_id, room, "Only organisers can close"), after=mark)
    # alice created the room (room version 12: she outranks everyone) and ends it: closed
    await alice.send(room, POLL_END, {"m.relates_to": ref, POLL_END: {},
                                      "org.matrix.msc1767.text": "Ended the poll"})
    _, closing = await bob.wait_for(is_text_from(bot.user_id, room, "Borrel is on"), after=mark)
    assert f"Borrel is on {d2.astimezone(TZ).strftime('%a %-d %b %Y')}" in closing["content"]["body"]
