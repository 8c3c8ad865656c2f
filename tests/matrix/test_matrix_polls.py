"""Polls as Element shows them: the poll, its text fallback, both answer forms, spoiled votes, the end."""

from __future__ import annotations

from bot.adapters.matrix.content import POLL_START
from bot.core.messages import ChatRef
from tests.matrix.conftest import MakeBot, MakeMember
from tests.matrix.mx_helpers import room_with_bot


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
