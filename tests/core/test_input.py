"""Odd input (issue 10, point 7): numbers are ASCII digits with a bound, titles and venues must
show something, a recurring time in the DST gap is refused, and the stats never pass 100 %.
Each refusal is a short reply and leaves the database as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.text import WORD_JOINER, defuse, number, shown_name, visible
from bot.db.session import Database
from tests.fakes import Chat
from tests.helpers import chapter, local, ready, snapshot

HUGE = "1" * 4301  # one digit more than int() takes from a string


@pytest.mark.parametrize(("who", "text", "expected"), [
    ("bob", "/vote ²", "Write the numbers of the options, e.g. /vote 1 3"),
    ("bob", "/vote ٣", "Write the numbers of the options, e.g. /vote 1 3"),
    ("bob", f"/vote {HUGE}", "Write the numbers of the options, e.g. /vote 1 3"),
    ("bob", "/rsvp yes +²", "Guests are written as +1 … +10"),
    ("bob", "/rsvp yes +３", "Guests are written as +1 … +10"),
    ("alice", "/newmeetup \u200b\u2060\u3164; {d1}", "The meetup needs a title"),
    ("alice", "/newmeetup \x00\x1b; {d1}", "The meetup needs a title"),
    ("alice", "/newmeetup T; {d1}; \u200b\u2800", "The venue has no letters or digits"),
    ("alice", "/newmeetup T; {d1}; max ²", "After max, write a number of seats from 1"),
    ("alice", "/newmeetup T; {d1}; max ９", "After max, write a number of seats from 1"),
    ("alice", f"/newmeetup T; {{d1}}; max {HUGE}", "After max, write a number of seats from 1"),
    ("alice", "/newmeetup T; 2027-03-1٢ 19:00", "I can't read “2027-03-1٢ 19:00”"),
    ("alice", "/poll \u200b; a | b", "Write it like: /poll"),
    ("alice", "/poll Q?; a | \u200b", "A poll needs at least two options"),
    ("alice", "/recurring first thursday 1９:30", "isn't a time I can read"),
    ("alice", "/setup \u3164; Den Bosch; Europe/Amsterdam; en", "Write it like: /setup"),
    ("alice", "/setup A; B; ../../etc/passwd; en", "I don't know the timezone"),
    ("alice", "/setup A; B; Europe; en", "I don't know the timezone"),
])
async def test_odd_input_is_refused_without_trace(chat: Chat, db: Database, who: str, text: str,
                                                  expected: str) -> None:
    await ready(chat)
    d1, d2 = local(chat, timedelta(days=5)), local(chat, timedelta(days=6))
    await chat.say("alice", f"/newmeetup Tweetup; {d1} | {d2}; max 3")  # an open poll
    before = await snapshot(db)
    out = await chat.say(who, text.replace("{d1}", local(chat, timedelta(days=8))))
    assert len(out) == 1 and out[0].kind == "text"
    assert expected in out[0].text
    assert len(out[0].text) < 300
    assert await snapshot(db) == before


@pytest.mark.parametrize(("text", "expected"), [
    (f"/remind {HUGE}d", "I can't read"),
    ("/remind 99999999999999999999m", "I can't read"),
    ("/remind ²d", "I can't read “²d” as a reminder time"),
    ("/remind " + "1d " * 500, "At most 5 reminder times"),
])
async def test_odd_reminder_times_in_a_dm(chat: Chat, db: Database, text: str,
                                          expected: str) -> None:
    await chat.dm("bob", "/start")
    before = await snapshot(db)
    out = await chat.dm("bob", text)
    assert len(out) == 1 and expected in out[0].text and len(out[0].text) < 300
    assert await snapshot(db) == before


async def test_an_intro_of_invisible_characters_is_no_intro(chat: Chat, db: Database) -> None:
    await chat.dm("bob", "/intro I make podcasts")
    out = await chat.dm("bob", "/intro \u200b\u200d\ufeff")
    assert out[0].text.startswith("Your intro: I make podcasts")


async def test_a_recurring_time_in_the_dst_gap_is_refused(chat: Chat, db: Database) -> None:
    """Amsterdam skips 02:00-03:00 on the last Sunday of March: "last sunday 02:30" would be
    moved to 03:30 without a word on 28 March 2027, as a one-off date at that time is not."""
    await chapter(chat)
    before = await snapshot(db)
    out = await chat.say("alice", "/recurring last sunday 02:30; Night walk")
    assert [s.text for s in out] == [
        "02:30 doesn't exist on Mar 28, 2027 in Europe/Amsterdam: the clocks go forward that "
        "night. Pick a time outside the change, like 20:00."]
    assert await snapshot(db) == before
    # Weekly on Sundays hits the same night; other times and days are fine.
    assert "doesn't exist" in (await chat.say("alice", "/recurring every sunday 2:15"))[0].text
    out = await chat.say("alice", "/recurring last sunday 03:30; Night walk")
    assert out[0].text.startswith("Recurring meetup set: Night walk")


async def test_stats_never_pass_a_hundred_percent(chat: Chat, db: Database) -> None:
    """Members who said maybe or no and came anyway count as came, not as yeses who showed
    up; and a walk-in at a full meetup gets no seat that isn't there."""
    await ready(chat)
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=2))}; max 2")
    await chat.say("bob", "/rsvp yes")
    await chat.say("alice", "/rsvp yes")
    await chat.say("carol", "/rsvp maybe")
    await chat.say("dave", "/rsvp no")
    await chat.advance(timedelta(days=2, minutes=-30))  # check-in opens an hour before
    for name in ("bob", "carol", "dave", "erin"):
        assert (await chat.say(name, "/checkin"))[0].text.startswith(f"Welcome, {name.title()}!")
    who = (await chat.say("bob", "/who"))[0].text
    assert "Going (2/2):" in who and "Erin" not in who.split("Maybe:")[0]
    await chat.advance(timedelta(hours=5))
    stats = (await chat.say("alice", "/stats"))[0].text.splitlines()
    assert stats[4] == "Attendance: 1 checked in of 2 who said yes (50%)"
    assert stats[5].endswith(": 2 said yes, 4 came, 1 no-show")


def test_numbers_are_ascii_digits_with_a_bound() -> None:
    assert number("12", 1, 99) == 12
    assert number("0012", 1, 99) == 12
    for text in ("", "²", "٣", "３", "1.5", "-1", "+1", " 1", "100", "0", HUGE, "9" * 10_000):
        assert number(text, 1, 99) is None, text


def test_visible_and_names() -> None:
    for blank in ("", " ", "\u200b", "\u3164\u2800", "\u202e\u2066", "\u0301", "\x00\x1b",
                  "\U000e0041", "\ufeff\u00ad"):
        assert not visible(blank), repr(blank)
    for shown in ("a", "漢", "🙂", "1", "é", "\u200ba"):
        assert visible(shown), repr(shown)
    assert shown_name("\u200b\u3164", "1234") == "1234"
    assert shown_name("  Alice \n\u202e Smith ", "1") == "Alice Smith"
    assert len(shown_name("x" * 500, "1")) == 64


@pytest.mark.parametrize(("text", "defused"), [
    ("/cancel@irlbot", f"/{WORD_JOINER}cancel@irlbot"),
    ("hi /cancel now", f"hi /{WORD_JOINER}cancel now"),
    ("(/rsvp yes)", f"(/{WORD_JOINER}rsvp yes)"),
    ("and/or", "and/or"),  # after a letter: no command
    ("https://t.me/irlbot?start=hi", "https://t.me/irlbot?start=hi"),  # links stay links
    ("1/2", "1/2"),
    ("a\u202eb", "ab"),
])
def test_defuse(text: str, defused: str) -> None:
    assert defuse(text) == defused
    assert defuse(defused) == defused
