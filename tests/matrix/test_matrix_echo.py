"""What members wrote, shown back on Matrix (issue 10, points 5 and 7), on a real Synapse:
HTML, Markdown and "@room" in a display name, a title and a venue are shown as typed (the
bot sends plain text with no formatted body, and mentions nobody), and a poll answer id
"²" neither crashes the adapter nor counts as a vote."""

from __future__ import annotations

from datetime import timedelta

from bot.adapters.matrix.content import selection_indexes
from tests.matrix.conftest import START, MakeBot, MakeMember, RealCore
from tests.matrix.mx_helpers import is_text_from, room_with_bot
from tests.matrix.test_matrix_e2e import local

NAME = "<b>Bob</b> *x* @room"


async def test_markup_and_mentions_in_names_and_titles_are_shown_as_typed(
    make_bot: MakeBot, make_member: MakeMember, real_core: RealCore
) -> None:
    bot = await make_bot(core_factory=real_core)
    alice, bob = [await make_member(n) for n in ("alice", "bob")]
    room = await room_with_bot(alice, bot.user_id, bob)
    await bob.send_state(room, "m.room.member", {"membership": "join", "displayname": NAME},
                         bob.user_id)

    async def command(by: object, text: str, expect: str) -> dict[str, object]:
        member = alice if by == "alice" else bob
        mark = len(member.timeline)
        await member.say(room, text)
        _, reply = await member.wait_for(is_text_from(bot.user_id, room, expect), after=mark)
        content: dict[str, object] = reply["content"]
        return content

    await command("alice", "!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en", "SMC")
    await command("alice", f"!newmeetup Borrel <i>1</i>; {local(START + timedelta(days=3))}; "
                  "Café [x](https://evil.example) /cancel", "New meetup!")
    content = await command("bob", "!rsvp yes", "is going")
    assert content["body"] == f"{NAME} is going to Borrel <i>1</i>."
    assert "format" not in content and "formatted_body" not in content
    assert content["m.mentions"] == {}  # "@room" in the name notifies nobody
    content = await command("bob", "!who", "Going (1)")
    body = str(content["body"])
    assert f"• {NAME}" in body and "Café [x](https://evil.example) /\u2060cancel" in body
    assert "formatted_body" not in content and content["m.mentions"] == {}


def test_a_poll_answer_id_of_other_digits_spoils_the_vote() -> None:
    """"²" is a digit to str.isdigit() but int() refuses it: it was a crash."""
    assert selection_indexes(["²"], options=3, max_selections=3) == ()
    assert selection_indexes(["1", "٣"], options=3, max_selections=3) == ()
    assert selection_indexes(["1" * 5000], options=3, max_selections=3) == ()
    assert selection_indexes(["1", "3"], options=3, max_selections=3) == (0, 2)
