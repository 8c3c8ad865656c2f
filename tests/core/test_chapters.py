"""Chapters: /next for the next meetup, and two chapters never mix polls, buttons or reminders."""

from __future__ import annotations

from datetime import timedelta

from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter, local


async def test_interest_list_hears_of_the_next_meetup(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.dm("bob", "/start")
    await chat.say("bob", "/next")
    out = await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
    dms = [s for s in out if s.kind == "dm"]
    assert [s.to for s in dms] == ["bob"] and "Borrel" in dms[0].text
    out = await chat.say("alice", f"/newmeetup Borrel 2; {local(chat, timedelta(days=9))}")
    assert [s for s in out if s.kind == "dm"] == []  # the list was used up


async def test_two_chapters_keep_their_polls_buttons_and_reminders_apart(
        chat: Chat, messenger: RecordingMessenger) -> None:
    other = Chat(chat.core, messenger, chat.clock, chat_id="group2", admins=("zoe",))
    await chapter(chat)
    await other.say("zoe", "/setup SMC NYC; New York; America/New_York; en")
    await chat.say("alice", f"/newmeetup Den Bosch; {local(chat, timedelta(days=3))}")
    out = await other.say("zoe", "/newmeetup NYC; 2026-12-01 19:00")
    assert "Tue 1 Dec 2026, 19:00" in out[0].text
    payload = out[0].buttons[0].payload
    reply = await chat.press("bob", payload)      # NYC's button pressed in Den Bosch's chat
    assert not reply.accepted
    await other.say("bob", "/rsvp yes")
    await chat.dm("bob", "/start")
    out = await chat.dm("bob", "/meetups")
    assert "NYC" in out[0].text
    messenger.take()
    await chat.advance(timedelta(days=6))
    assert len([t for t in messenger.group_texts("group") if t.startswith("Tomorrow")]) == 1
    assert len([t for t in messenger.group_texts("group2") if t.startswith("Tomorrow")]) == 1
    bob = [s.text for s in messenger.dms("bob")]
    assert len(bob) == 2 and all("NYC" in t for t in bob)
    assert any("19:00" in t and "Tue 1 Dec 2026" in t for t in bob)
