"""At the meetup and after: /checkin, the follow-up in the group, /stats."""

from __future__ import annotations

from datetime import timedelta

from tests.fakes import Chat, RecordingMessenger
from tests.helpers import local


async def test_checkin_follow_up_and_stats(chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=2))}; max 10")
    for name in ("bob", "carol", "dave"):
        await chat.say(name, "/rsvp yes")
    early = await chat.say("bob", "/checkin")
    assert early[0].text.startswith("Check-in opens an hour before")

    await chat.advance(timedelta(days=2, minutes=10))  # the meetup has begun
    assert (await chat.say("bob", "/checkin"))[0].text == "Welcome, Bob! 1 checked in at Borrel so far."
    assert (await chat.say("bob", "/checkin"))[0].text == "Bob, you're already checked in."
    assert "2 checked in" in (await chat.say("erin", "/checkin"))[0].text  # a walk-in counts
    await chat.say("carol", "/checkin")

    out = await chat.advance(timedelta(hours=4))
    follow = [s.text for s in out if s.kind == "text"]
    assert follow == ["Thanks for coming to Borrel! 3 checked in. Want to hear when the next "
                      "one is announced? Send /next."]
    assert (await chat.say("bob", "/stats"))[0].text == "Only organisers can do that."
    stats = (await chat.say("alice", "/stats"))[0].text.splitlines()
    assert stats[1] == "Meetups held: 1"
    assert stats[2] == "Members: 5 (5 new in the last 30 days)"
    assert stats[4] == "Attendance: 3 checked in of 4 who said yes (75%)"
    assert stats[5].startswith("• Borrel, ") and stats[5].endswith(
        ": 4 said yes, 3 came, 1 no-show")  # one no-show: a plural form since issue 7
    out = await chat.say("carol", "/checkin")  # long after: closed
    assert out[0].text.startswith("Check-in opens")


async def test_a_cancelled_meetup_gets_no_follow_up(chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=2))}")
    await chat.say("alice", "/cancel")
    await chat.say("alice", "/cancel yes")
    out = await chat.advance(timedelta(days=3))
    assert [s for s in out if s.kind == "text"] == []


async def test_the_thanks_after_a_meetup_nobody_checked_in_at_gives_no_count(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; nl")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=2))}")
    await chat.say("bob", "/rsvp ja")
    out = await chat.advance(timedelta(days=2, hours=4))
    follow = [s.text for s in out if s.kind == "text" and s.text.startswith("Bedankt")]
    assert follow == ["Bedankt voor je komst naar Borrel! Wil je horen wanneer de volgende "
                      "wordt aangekondigd? Stuur /next."]
