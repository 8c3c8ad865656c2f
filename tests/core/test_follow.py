"""/follow and /unfollow: a follower hears of every new meetup of the chapter by private
message, with the RSVP buttons under it, until they stop; /next stays one-shot."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.core.messages import ChatRef, ReactionRsvp, RsvpAnswer
from bot.db.models import Follow
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger, Sent
from tests.helpers import chapter, local, snapshot


def dms(sent: list[Sent], to: str) -> list[Sent]:
    return [s for s in sent if s.kind == "dm" and s.to == to]


async def test_a_follower_hears_of_each_new_meetup_until_they_unfollow(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chapter(chat)
    await chat.dm("bob", "/start")
    (reply,) = await chat.say("bob", "/follow")
    assert reply.text == ("Bob, you now follow SMC Den Bosch: I'll send you a private message "
                          "for every new meetup. /unfollow stops it.")

    out = await chat.say("alice", "/newmeetup Borrel; 2026-12-03 19:30; Café de Unie")
    (dm,) = dms(out, "bob")
    assert dm.text.splitlines() == [
        "SMC Den Bosch has a new meetup: Borrel — Thu 3 Dec 2026, 19:30, Café de Unie",
        "Coming? Answer below. /unfollow stops these messages."]
    assert [b.payload.split(":")[2] for b in dm.buttons] == ["yes", "maybe", "no"]

    # A date poll is no new meetup yet; its close, which sets the date, is.
    out = await chat.say("alice", "/newmeetup Tweetup; 2026-12-10 19:30 | 2026-12-11 20:00")
    assert dms(out, "bob") == []
    await chat.say("carol", "/vote 2")
    out = await chat.say("alice", "/closepoll")
    (dm,) = dms(out, "bob")
    assert dm.text.startswith("SMC Den Bosch has a new meetup: Tweetup — Fri 11 Dec 2026, 20:00")

    (reply,) = await chat.say("bob", "/unfollow")
    assert reply.text == "Bob, you no longer follow SMC Den Bosch."
    out = await chat.say("alice", "/newmeetup Borrel 2; 2026-12-17 19:30")
    assert dms(out, "bob") == []
    assert (await chat.say("bob", "/unfollow"))[0].text == "Bob, you don't follow SMC Den Bosch."


async def test_bob_answers_with_the_buttons_under_his_dm(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chapter(chat)
    await chat.dm("bob", "/start")
    await chat.say("bob", "/follow")
    out = await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}; max 1")
    (dm,) = dms(out, "bob")
    reply = await chat.press_in_dm("bob", dm.buttons[0].payload)
    assert reply.accepted and reply.text == "Bob is going to Borrel. 1/1 seat taken."
    who = (await chat.say("carol", "/who"))[0].text
    assert "Going (1/1):\n• Bob" in who
    # The group's announcement shows his answer too.
    edits = [s for s in messenger.sent if s.kind == "edit" and s.to == "group"]
    assert edits and edits[-1].text.splitlines()[1] == "1/1 going · 0 maybe"

    # carol never got that DM: the same button pressed in her private chat does nothing.
    await chat.dm("carol", "/start")
    refused = await chat.press_in_dm("carol", dm.buttons[0].payload)
    assert not refused.accepted and refused.text == "That button isn't valid."


async def test_a_matrix_follower_answers_with_a_reaction_in_the_dm(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chapter(chat)
    await chat.dm("bob", "/start")
    await chat.say("bob", "/follow")
    out = await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
    (dm,) = dms(out, "bob")
    # The fake's private chat with bob is "dm-bob"; a reaction there names the DM's message.
    await chat.core.handle_reaction(ReactionRsvp(
        ChatRef(messenger.platform, "dm-bob"), chat.user("bob"), dm.message_id,
        RsvpAnswer.MAYBE))
    answered = [s.text for s in messenger.sent if s.to == "dm-bob"]
    assert answered[-1] == "Bob might come to Borrel."
    assert "Maybe:\n• Bob" in (await chat.say("bob", "/who"))[0].text


async def test_following_and_next_together_make_one_dm(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chapter(chat)
    await chat.dm("bob", "/start")
    await chat.say("bob", "/follow")
    await chat.say("bob", "/next")
    out = await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
    (dm,) = dms(out, "bob")
    assert dm.buttons  # the follower's DM, with its buttons
    out = await chat.say("alice", f"/newmeetup Borrel 2; {local(chat, timedelta(days=9))}")
    assert len(dms(out, "bob")) == 1  # still following; /next was used up by the first


async def test_someone_who_never_opened_a_private_chat_is_told_how(
        chat: Chat, db: Database) -> None:
    await chapter(chat)
    (reply,) = await chat.say("dave", "/follow")
    assert reply.text.splitlines() == [
        "Dave, you now follow SMC Den Bosch: I'll send you a private message for every new "
        "meetup. /unfollow stops it.",
        "I can't send you private messages yet: open a private chat with me and send /start."]
    before = await snapshot(db)
    (again,) = await chat.say("dave", "/follow")
    assert again.text.startswith("Dave, you already follow SMC Den Bosch.")
    assert await snapshot(db) == before


async def test_follow_in_a_dm_and_unfollow_there_stops_every_chapter(
        chat: Chat, db: Database) -> None:
    other = Chat(chat.core, chat.messenger, chat.clock, chat_id="group2", admins=("zoe",))
    await chapter(chat)
    await other.say("zoe", "/setup SMC NYC; New York; America/New_York; en")
    await chat.say("bob", "/help")
    (reply,) = await chat.dm("bob", "/follow")  # bob is in one chapter: that one
    assert reply.text.startswith("Bob, you now follow SMC Den Bosch")
    await other.say("bob", "/follow")
    (reply,) = await chat.dm("bob", "/follow")  # now in two: which one?
    assert reply.text == "Send /follow in the group chat of the chapter you mean."
    (reply,) = await chat.dm("bob", "/unfollow")
    assert reply.text == "You no longer follow SMC Den Bosch, SMC NYC."
    async with db.transaction() as s:
        assert list(await s.scalars(select(Follow))) == []
    assert (await chat.dm("bob", "/unfollow"))[0].text == "You don't follow any chapter."


async def test_a_dutch_follower_hears_of_recurring_meetups_in_dutch(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl")
    await chat.dm("bob", "/start")
    (reply,) = await chat.say("bob", "/follow")
    assert reply.text.startswith("Bob, je volgt nu SMC Den Bosch")
    out = await chat.say("alice", "/recurring elke donderdag 19:30; Borrel")
    (dm,) = dms(out, "bob")
    assert dm.text.startswith("SMC Den Bosch heeft een nieuwe meetup: Borrel — do 26 nov 2026")
    assert [b.label for b in dm.buttons] == ["✅ Ik kom", "🤔 Misschien", "❌ Kan niet"]
    out = await chat.advance(timedelta(days=1))  # tonight's has passed: the next opens
    (dm,) = dms(out, "bob")
    assert "do 3 dec 2026" in dm.text
