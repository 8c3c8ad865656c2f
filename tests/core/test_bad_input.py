"""Bad input gets a short, clear reply and leaves the database exactly as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.db.session import Database
from tests.fakes import Chat
from tests.helpers import local, snapshot


async def ready(chat: Chat) -> None:
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.say("bob", "/help")  # bob becomes a known member before the snapshot


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
