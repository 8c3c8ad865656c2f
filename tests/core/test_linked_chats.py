"""One chapter in a Telegram group and a Matrix room: one poll, one head count, neither held back."""

from __future__ import annotations

from datetime import timedelta

from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import local


async def test_a_chapter_spread_over_two_platforms(db: Database, clock) -> None:
    tg, mx = RecordingMessenger(platform="telegram"), RecordingMessenger(platform="matrix")
    core = Core(db, {"telegram": tg, "matrix": mx}, clock, CoreSettings())
    group = Chat(core, tg, clock, chat_id="-100", admins=["alice"])
    room = Chat(core, mx, clock, chat_id="!room:localhost", admins=["mia"])
    await group.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await group.dm("alice", "/start")
    await group.say("alice", "/link")
    code_line = tg.dms("alice")[-1].text.splitlines()[1]
    assert code_line.startswith("/link ")
    assert "unknown or has expired" in (await room.say("mia", "/link NOPE1234"))[0].text
    assert "now part of SMC Den Bosch" in (await room.say("mia", code_line))[0].text
    assert "already belongs to" in (await room.say("mia", code_line))[0].text
    third = Chat(core, tg, clock, chat_id="-200", admins=["zoe"])
    assert "unknown or has expired" in (await third.say("zoe", code_line))[0].text  # used up

    d1, d2 = local(group, timedelta(days=5)), local(group, timedelta(days=6))
    await room.say("mia", f"/newmeetup Tweetup; {d1} | {d2}; max 2")  # a linked admin organises
    tg_poll = next(s for s in tg.sent if s.kind == "poll")
    mx_poll = next(s for s in mx.sent if s.kind == "poll")
    await group.answer_poll("bob", f"poll-{tg_poll.message_id}", [1])
    await room.answer_poll("carol", f"poll-{mx_poll.message_id}", [1])
    await room.say("dave", "/vote 1")
    await group.advance(timedelta(hours=49))
    for messenger in (tg, mx):
        assert [s.kind for s in messenger.sent].count("close_poll") == 1
        closing = [s.text for s in messenger.sent if "The poll is closed" in s.text]
        assert len(closing) == 1 and "2. " in closing[0] and ": 2" in closing[0]

    await group.say("bob", "/rsvp yes")
    await room.say("carol", "/rsvp yes")
    out = await room.say("dave", "/rsvp yes")
    assert "waitlist, position 1" in out[0].text  # the seats are counted across both chats
    who = (await group.say("alice", "/who"))[0].text
    assert "Going (2/2)" in who and "Bob" in who and "Carol" in who


async def test_a_group_the_bot_was_removed_from_does_not_hold_back_the_others(
        db, clock) -> None:
    from bot.core.app import Core
    from bot.core.settings import CoreSettings

    class Removed(RecordingMessenger):
        async def send_text(self, chat, text, buttons=(), *, key=None):
            if "Tomorrow" in text:
                raise RuntimeError("Forbidden: bot was kicked from the group chat")
            return await super().send_text(chat, text, buttons, key=key)

    tg, mx = Removed(platform="telegram"), RecordingMessenger(platform="matrix")
    core = Core(db, {"telegram": tg, "matrix": mx}, clock, CoreSettings())
    group = Chat(core, tg, clock, chat_id="-100", admins=["alice"])
    room = Chat(core, mx, clock, chat_id="!room:localhost", admins=["mia"])
    await group.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await group.dm("alice", "/start")
    await group.say("alice", "/link")
    await room.say("mia", tg.dms("alice")[-1].text.splitlines()[1])
    await group.say("alice", f"/newmeetup Borrel; {local(group, timedelta(days=3))}")
    for _ in range(3):  # woken again and again: the room hears it once
        await group.advance(timedelta(days=2, hours=1) if _ == 0 else timedelta(minutes=10))
    assert sum("Tomorrow: Borrel" in s.text for s in mx.sent) == 1


async def test_the_card_keeps_the_combined_outcome_of_the_date_poll_in_every_chat(
        db: Database, clock) -> None:
    tg, mx = RecordingMessenger(platform="telegram"), RecordingMessenger(platform="matrix")
    core = Core(db, {"telegram": tg, "matrix": mx}, clock, CoreSettings())
    group = Chat(core, tg, clock, chat_id="-100", admins=["alice"])
    room = Chat(core, mx, clock, chat_id="!room:localhost", admins=["mia"])
    await group.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await group.dm("alice", "/start")
    await group.say("alice", "/link")
    await room.say("mia", tg.dms("alice")[-1].text.splitlines()[1])
    d1, d2 = local(group, timedelta(days=5)), local(group, timedelta(days=6))
    await group.say("alice", f"/newmeetup Tweetup; {d1} | {d2}")
    tg_poll = next(s for s in tg.sent if s.kind == "poll")
    mx_poll = next(s for s in mx.sent if s.kind == "poll")
    await group.answer_poll("bob", f"poll-{tg_poll.message_id}", [0, 1])
    await group.answer_poll("erin", f"poll-{tg_poll.message_id}", [1])  # Telegram's poll: 1 of 2
    await room.answer_poll("carol", f"poll-{mx_poll.message_id}", [0])
    await room.say("dave", "/vote 1")  # Matrix's poll: 2 for the first date, 0 for the second
    await group.advance(timedelta(hours=49))
    await room.say("carol", "/rsvp yes")  # the cards are edited: the line stays
    for messenger in (tg, mx):
        (card,) = [s for s in messenger.sent if s.kind == "text" and s.buttons]
        edits = [s for s in messenger.sent if s.kind == "edit"
                 and s.message_id == card.message_id]
        assert "Date picked by 3 of 4 voters" in card.text.splitlines()
        assert edits and "Date picked by 3 of 4 voters" in edits[-1].text.splitlines()
        assert "1 going" in edits[-1].text


async def test_one_voter_in_dutch_and_no_outcome_line_without_a_date_poll(db: Database, clock) -> None:
    tg = RecordingMessenger(platform="telegram")
    core = Core(db, {"telegram": tg}, clock, CoreSettings())
    group = Chat(core, tg, clock, chat_id="-100", admins=["alice"])
    await group.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; nl")
    d1, d2 = local(group, timedelta(days=5)), local(group, timedelta(days=6))
    await group.say("alice", f"/newmeetup Tweetup; {d1} | {d2}")
    await group.say("bob", "/vote 2")
    await group.advance(timedelta(hours=49))
    (card,) = [s for s in tg.sent if s.kind == "text" and s.buttons]
    assert "Datum gekozen door 1 van 1 stemmer" in card.text.splitlines()
    await group.say("alice", f"/newmeetup Borrel; {local(group, timedelta(days=9))}")
    borrel = [s for s in tg.sent if s.kind == "text" and s.buttons][-1]
    assert "Borrel" in borrel.text and "Datum gekozen" not in borrel.text
