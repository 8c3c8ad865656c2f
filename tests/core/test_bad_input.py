"""Bad input gets a short, clear reply and leaves the database exactly as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.db.session import Database
from tests.fakes import Chat
from tests.helpers import chapter, local, ready, snapshot


@pytest.mark.parametrize(("who", "text", "expected"), [
    ("alice", "/newmeetup X; yesterday 19:00", "is in the past"),
    ("alice", "/newmeetup X; flurb o'clock", "I can't read “flurb o'clock”"),
    ("alice", "/newmeetup X; thursday", "has no time of day"),
    ("alice", "/newmeetup X; 03/04 19:00", "is ambiguous"),
    ("alice", "/newmeetup " + "x" * 5000 + "; {d1}", "That title is 5000 characters long"),
    ("alice", "/newmeetup X; {d1}; " + "v" * 300, "The venue is 300 characters long"),
    ("alice", "/newmeetup X; {d1}; max 0", "After max, write a number of seats"),
    ("alice", "/newmeetup X; {d1} | {d1}", "twice"),
    ("alice", "/newmeetup X", "Write it like: /newmeetup"),
    ("bob", "/newmeetup X; {d1}", "Only organisers can do that."),
    ("bob", "/poll Q?; a | b", "Only organisers can do that."),
    ("alice", "/poll Q?; only one", "at least two options"),
    ("bob", "/vote 7", "There is no open poll right now."),
    ("bob", "/rsvp perhaps", "Write it like: /rsvp yes"),
    ("bob", "/rsvp yes", "No meetup is planned yet."),
    ("bob", "/setup A; B; Europe/Amsterdam; en", "Only the group's admins"),
    ("alice", "/setup A; B; Mars/Olympus; en", "I don't know the timezone"),
    ("alice", "/setup A; B; Europe/Amsterdam; fr", "The language must be one of"),
    ("bob", "/frobnicate", "I don't know /frobnicate"),
    ("bob", "/intro hello", "Send this to me in a private chat."),
])
async def test_refused_without_trace(chat: Chat, db: Database, who: str, text: str,
                                     expected: str) -> None:
    await ready(chat)
    before = await snapshot(db)
    d1 = local(chat, timedelta(days=5))
    out = await chat.say(who, text.replace("{d1}", d1))
    assert len(out) == 1 and out[0].kind == "text"
    assert expected in out[0].text
    assert len(out[0].text) < 300
    assert await snapshot(db) == before


@pytest.mark.parametrize("when", ["12.03.2027", "12.3.2027", "12.03.27"])
async def test_a_dotted_date_without_a_time_is_not_read_as_midnight(chat: Chat, db: Database,
                                                                    when: str) -> None:
    """Dutch write dates with dots; "12.03" is not the time 12:03 and not midnight either."""
    await chapter(chat)
    before = await snapshot(db)
    out = await chat.say("alice", f"/newmeetup Tweetup; {when}")
    assert len(out) == 1 and "has no time of day" in out[0].text
    assert await snapshot(db) == before


@pytest.mark.parametrize("when", ["03/12/2027 19:00", "3/12/27 19:00"])
async def test_a_slashed_date_with_a_year_is_ambiguous_in_english(chat: Chat, db: Database,
                                                                  when: str) -> None:
    """An American's 03/12/2027 is 12 March; the bot silently made it 3 December."""
    await chapter(chat)
    before = await snapshot(db)
    out = await chat.say("alice", f"/newmeetup Tweetup; {when}")
    assert len(out) == 1 and "is ambiguous" in out[0].text
    assert await snapshot(db) == before


async def test_a_time_that_does_not_exist_on_the_dst_night_is_not_moved_silently(
        chat: Chat, db: Database) -> None:
    """02:30 on 28 March 2027 does not exist in Amsterdam; the bot made it 03:30 without a
    word. PRODUCT.md: a doubtful reading gets a reply that shows how it was read."""
    await chapter(chat)
    before = await snapshot(db)
    out = await chat.say("alice", "/newmeetup Night walk; 2027-03-28 02:30")
    assert len(out) == 1 and "03:30" in out[0].text and "New meetup" not in out[0].text
    assert await snapshot(db) == before


async def test_vote_out_of_range_and_on_a_closed_poll(chat: Chat, db: Database) -> None:
    await ready(chat)
    d1, d2 = local(chat, timedelta(days=5)), local(chat, timedelta(days=6))
    await chat.say("alice", f"/newmeetup T; {d1} | {d2}")
    before = await snapshot(db)
    out = await chat.say("bob", "/vote 7")
    assert [s.text for s in out] == ["This poll has options 1 to 2."]
    assert await snapshot(db) == before
    await chat.say("alice", "/closepoll")
    before = await snapshot(db)
    assert [s.text for s in await chat.say("bob", "/vote 1")] == ["There is no open poll right now."]
    assert await snapshot(db) == before


async def test_full_group_that_can_never_fit_is_refused(chat: Chat, db: Database) -> None:
    await ready(chat)
    await chat.say("alice", f"/newmeetup T; {local(chat, timedelta(days=5))}; max 2")
    before = await snapshot(db)
    out = await chat.say("bob", "/rsvp yes +5")
    assert "a group of 6 doesn't fit" in out[0].text
    assert await snapshot(db) == before


async def test_dm_commands_in_a_private_chat_need_no_chapter(chat: Chat, db: Database) -> None:
    out = await chat.dm("bob", "/intro " + "y" * 500)
    assert "under 200 characters" in out[0].text
    out = await chat.dm("bob", "/remind 99d")
    assert "between 1 minute and 30 days" in out[0].text
    out = await chat.dm("bob", "/rsvp yes")
    assert out[0].text == "Send this in your chapter's group chat."
