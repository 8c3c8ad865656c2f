"""Yes, maybe or no by command or button: seats, guests, the waitlist, who moves up, forged buttons."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from bot.db.models import Rsvp
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter, local


async def test_buttons_and_forged_payloads(chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}; max 1")
    button = next(s for s in messenger.sent if s.buttons).buttons[0]
    reply = await chat.press("bob", button.payload)
    assert reply.accepted and "Bob is going" in reply.text
    edits = [s for s in messenger.sent if s.kind == "edit"]
    assert edits and "1/1 going" in edits[-1].text
    for forged in ["rsvp:999:yes", "rsvp:1:dance", "rsvp:x:yes", "nonsense", "rsvp:1:yes:extra"]:
        reply = await chat.press("carol", forged)
        assert not reply.accepted, forged
    # A button of another chapter's meetup pressed in this chat is refused too.
    other = Chat(chat.core, messenger, chat.clock, chat_id="other-group", admins=["zoe"])
    await other.say("zoe", "/setup Other; Veghel; Europe/Amsterdam; en")
    await other.say("zoe", f"/newmeetup Elsewhere; {local(chat, timedelta(days=4))}")
    foreign = next(s for s in messenger.sent if s.buttons and s.to == "other-group").buttons[0]
    reply = await chat.press("carol", foreign.payload)
    assert not reply.accepted
    who = (await chat.say("alice", "/who"))[0].text
    assert "Carol" not in who


async def test_a_forged_button_with_a_huge_meetup_id_is_refused(chat: Chat) -> None:
    """rsvp:<12 digits>:yes passes the payload check but overflows the id column on
    PostgreSQL: the press crashed instead of being refused."""
    await chapter(chat)
    await chat.say("alice", f"/newmeetup T; {local(chat, timedelta(days=5))}")
    reply = await chat.press("mallory", "rsvp:999999999999:yes")
    assert not reply.accepted
    assert reply.text == "That button isn't valid."


async def test_guests_count_and_a_group_that_does_not_fit_is_skipped(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}; max 3")
    for name in ("bob", "carol", "dave", "erin"):
        await chat.dm(name, "/start")
    await chat.say("bob", "/rsvp yes +1")
    await chat.say("carol", "/rsvp yes")
    assert "position 1" in (await chat.say("dave", "/rsvp yes +1"))[0].text
    assert "position 2" in (await chat.say("erin", "/rsvp yes"))[0].text
    out = await chat.say("carol", "/rsvp no")  # one seat opens: dave's pair doesn't fit, erin does
    assert [s.to for s in out if s.kind == "dm"] == ["erin"]
    who = (await chat.say("alice", "/who"))[0].text
    assert "Going (3/3)" in who and "1. Dave (+1)" in who


async def test_the_bigger_group_refusal_counts_guests_not_seats(chat: Chat) -> None:
    """max 4; carol and dave are going, bob too. bob asks for +2: there is room for +1 only.
    The bot said "only 2 left", so bob tries +2 again... the reply must name what fits."""
    await chapter(chat)
    await chat.say("alice", f"/newmeetup T; {local(chat, timedelta(days=5))}; max 4")
    await chat.say("carol", "/rsvp yes")
    await chat.say("dave", "/rsvp yes")
    await chat.say("bob", "/rsvp yes")
    out = await chat.say("bob", "/rsvp yes +2")
    assert "+1" in out[0].text, out[0].text
    assert "only 2 left" not in out[0].text


async def test_two_people_taking_the_last_seat_at_once_do_not_overbook(
        chat: Chat, db: Database) -> None:
    """On PostgreSQL the core runs commands side by side: two "yes" for the last seat both
    saw it free, and the meetup ended up 3/2."""
    await chapter(chat)
    await chat.say("alice", f"/newmeetup T; {local(chat, timedelta(days=5))}; max 2")
    await chat.say("bob", "/rsvp yes")
    for name in ("carol", "dave", "erin", "frank"):
        await chat.say(name, "/help")  # known members, so only the RSVPs race
    await asyncio.gather(*(chat.say(name, "/rsvp yes")
                           for name in ("carol", "dave", "erin", "frank")))
    async with db.transaction() as s:
        going = await s.scalar(select(func.count()).select_from(Rsvp)
                               .where(Rsvp.status == "yes"))
        seqs = list(await s.scalars(select(Rsvp.waitlist_seq)
                                    .where(Rsvp.status == "waitlist")))
    assert going == 2
    assert len(seqs) == 3 and len(set(seqs)) == 3, "two people share a waitlist position"


async def test_who_in_a_big_chapter_names_the_first_hundred_and_counts_the_rest(
        chat: Chat, db: Database) -> None:
    await chapter(chat)
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=5))}")
    for i in range(103):
        await chat.say(f"member{i:03d}", "/rsvp yes")
    await chat.say("zed", "/rsvp maybe")
    who = (await chat.say("alice", "/who"))[0].text
    assert "Going (103):" in who
    assert "• Member000" in who and "• Member099" in who  # in the order they answered
    assert "Member100" not in who and "… and 3 more" in who
    assert "Maybe:\n• Zed" in who and who.count("more") == 1
    async with db.transaction() as s:  # nothing was cut from the answers themselves
        assert await s.scalar(select(func.count()).select_from(Rsvp)) == 104
