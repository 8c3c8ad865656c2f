"""Organising a meetup: /newmeetup reads the date as meant and is announced once, /cancel tells everyone."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.core.messages import ChatRef
from bot.db.models import Meetup
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter, local


async def test_a_dotted_date_with_a_dotted_time_still_works(chat: Chat) -> None:
    await chapter(chat)
    out = await chat.say("alice", "/newmeetup Tweetup; 12.03.2027 19.30")
    assert "Fri 12 Mar 2027, 19:30" in out[0].text


async def test_a_meetup_across_the_dst_change_keeps_its_wall_clock_time(
        chat: Chat, messenger: RecordingMessenger) -> None:
    """Created in winter time for a date in summer time: 19:00 stays 19:00, and the 2-hour
    reminder comes at 17:00 local."""
    await chapter(chat)
    out = await chat.say("alice", "/newmeetup Spring; 2027-03-29 19:00")
    assert "Mon 29 Mar 2027, 19:00" in out[0].text
    await chat.dm("bob", "/start")
    await chat.say("bob", "/rsvp yes")
    async with chat.core.db.transaction() as s:
        starts = await s.scalar(select(Meetup.starts_at))
    assert starts is not None and starts.hour == 17  # 19:00 CEST is 17:00 UTC


async def test_a_command_delivered_twice_is_handled_once(
        chat: Chat, messenger: RecordingMessenger) -> None:
    from bot.core.messages import Inbound

    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    again = Inbound(chat.chat, chat.user("alice"),
                    f"/newmeetup Borrel; {local(chat, timedelta(days=3))}", False, True,
                    message_id="42")
    await chat.core.handle_message(again)
    await chat.core.handle_message(again)  # a platform replaying after a crash
    assert len([s for s in messenger.sent if "New meetup!" in s.text]) == 1
    other = Inbound(ChatRef(chat.chat.platform, "another-chat"), chat.user("alice"), "/help",
                    False, True, message_id="42")
    await chat.core.handle_message(other)  # the same id in another chat is another message
    assert messenger.sent[-1].to == "another-chat"
    chat.clock.advance(timedelta(days=8))
    await chat.core.forget_handled()
    await chat.core.handle_message(again)  # long forgotten: handled (and refused, as a date
    assert "in the past" in messenger.sent[-1].text  # that has passed by now)


async def test_cancel_tells_everyone_by_dm(chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
    for name in ("bob", "carol", "dave"):
        await chat.dm(name, "/start")
    await chat.say("bob", "/rsvp yes")
    await chat.say("carol", "/rsvp maybe")
    await chat.say("dave", "/rsvp no")
    await chat.say("alice", "/cancel")
    out = await chat.say("alice", "/cancel yes")
    assert sorted(s.to for s in out if s.kind == "dm") == ["bob", "carol"]
    assert "cancelled" in next(s for s in out if s.kind == "text").text
    assert [s for s in await chat.advance(timedelta(days=4)) if s.kind in ("dm", "text")] == []
