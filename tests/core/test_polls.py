"""The whole meetup of issue 2, driven through the core as members would, on each database."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.core.messages import ChatRef
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import local

TZ = ZoneInfo("Europe/Amsterdam")


async def setup_chapter(chat: Chat, capacity: int | None = 2) -> None:
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    d1, d2 = local(chat, timedelta(days=5)), local(chat, timedelta(days=6))
    cap = f"; max {capacity}" if capacity else ""
    await chat.say("alice", f"/newmeetup Tweetup #1; {d1} | {d2}; Verkadefabriek{cap}")


async def test_poll_tie_goes_to_earlier_date_then_waitlist_and_reminders(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await setup_chapter(chat)
    polls = [s for s in messenger.sent if s.kind == "poll"]
    assert len(polls) == 1 and len(polls[0].options) == 2
    d1_label = polls[0].options[0]
    assert "Thu 3 Dec 2026" not in d1_label  # options are shown in chapter time, not raw
    await chat.say("bob", "/vote 1")
    await chat.say("carol", "/vote 1 2")
    await chat.say("dave", "/vote 2")

    out = await chat.advance(timedelta(hours=47))
    assert out == [], "the poll must stay open until its closing time"
    out = await chat.advance(timedelta(hours=2))
    assert [s.kind for s in out if s.kind == "close_poll"] == ["close_poll"]
    closing = [s.text for s in out if s.kind == "text"]
    assert len(closing) == 1
    assert f"Tweetup #1 is on {d1_label}" in closing[0]
    assert "1. " + d1_label + ": 2" in closing[0]
    assert [b.payload.split(":")[2] for b in next(s for s in out if s.kind == "text").buttons] \
        == ["yes", "maybe", "no"]

    await chat.dm("bob", "/start")
    await chat.dm("dave", "/start")
    assert "Bob is going" in (await chat.say("bob", "/rsvp yes"))[0].text
    assert "Carol is going" in (await chat.say("carol", "/rsvp yes"))[0].text
    waitlisted = await chat.say("dave", "/rsvp yes")
    assert "waitlist, position 1" in waitlisted[0].text
    out = await chat.say("carol", "/rsvp no")
    promoted = [s for s in out if s.kind == "dm"]
    assert [s.to for s in promoted] == ["dave"]
    assert "seat opened up" in promoted[0].text

    refused = await chat.say("bob", "/cancel")
    assert [s.text for s in refused] == ["Only organisers can do that."]

    who = (await chat.say("alice", "/who"))[0].text
    going = who.split("Going (2/2):")[1]
    assert "Bob" in going and "Dave" in going and "Carol" not in going

    out = await chat.advance(timedelta(days=2))
    dms = sorted((s.to, s.text.splitlines()[0]) for s in out if s.kind == "dm")
    assert dms == [("bob", "Reminder: Tweetup #1 starts in 1 day."),
                   ("dave", "Reminder: Tweetup #1 starts in 1 day.")]
    assert all(s.file is not None and b"BEGIN:VEVENT" in s.file.content
               for s in out if s.kind == "dm")
    group = [s.text for s in out if s.kind == "text"]
    assert len(group) == 1 and group[0].startswith("Tomorrow: Tweetup #1")

    # Nothing is sent twice, however often the core is woken.
    assert await chat.core.run_due() == 0
    out = await chat.advance(timedelta(hours=21, minutes=30))
    assert sorted(s.to for s in out if s.kind == "dm") == ["bob", "dave"]  # the 2-hour ones
    assert all("starts in 2 hours" in s.text for s in out if s.kind == "dm")


async def test_person_who_never_started_the_bot_is_named_once(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
    await chat.say("erin", "/rsvp yes")
    out = await chat.advance(timedelta(days=3))
    hints = [s.text for s in out if s.kind == "text" and "can't send you private" in s.text]
    assert len(hints) == 1 and "Erin" in hints[0]
    assert "Open a private chat with me and send /start" in hints[0]
    assert not [s for s in out if s.kind == "dm"]


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


async def test_poll_answers_from_the_platform_and_closepoll(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    d = [local(chat, timedelta(days=n)) for n in (5, 6, 7)]
    await chat.say("alice", f"/newmeetup Borrel; {d[0]} | {d[1]} | {d[2]}")
    poll = next(s for s in messenger.sent if s.kind == "poll")
    pid = f"poll-{poll.message_id}"
    await chat.answer_poll("bob", pid, [2])
    await chat.answer_poll("carol", pid, [1, 2])
    await chat.answer_poll("dave", pid, [1])
    await chat.answer_poll("dave", pid, [])  # takes it back
    assert (await chat.say("bob", "/closepoll"))[0].text == "Only organisers can do that."
    out = await chat.say("alice", "/closepoll")
    assert f"on {poll.options[2]}" in next(s for s in out if s.kind == "text").text
    who = (await chat.say("alice", "/who"))[0].text
    assert "Maybe:" in who and "Bob" in who and "Carol" in who and "Dave" not in who
    await chat.answer_poll("erin", pid, [0])  # after the close: ignored
    votes = await chat.say("erin", "/vote 1")
    assert votes[0].text == "There is no open poll right now."


async def test_cancel_tells_everyone_by_dm(chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
    for name in ("bob", "carol", "dave"):
        await chat.dm(name, "/start")
    await chat.say("bob", "/rsvp yes")
    await chat.say("carol", "/rsvp maybe")
    await chat.say("dave", "/rsvp no")
    out = await chat.say("alice", "/cancel")
    assert sorted(s.to for s in out if s.kind == "dm") == ["bob", "carol"]
    assert "cancelled" in next(s for s in out if s.kind == "text").text
    assert [s for s in await chat.advance(timedelta(days=4)) if s.kind in ("dm", "text")] == []


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


async def test_personal_reminder_times_and_late_yes_skips_passed_ones(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(hours=10))}")
    await chat.dm("bob", "/start")
    assert "3 hours" in (await chat.dm("bob", "/remind 3h 30m"))[0].text
    await chat.say("bob", "/rsvp yes")
    await chat.dm("carol", "/start")
    await chat.say("carol", "/rsvp yes")  # 24h has passed already; only the 2h one is due
    out = await chat.advance(timedelta(hours=10))
    got = sorted((s.to, s.text.splitlines()[0]) for s in out if s.kind == "dm")
    assert got == [("bob", "Reminder: Borrel starts in 3 hours."),
                   ("bob", "Reminder: Borrel starts in 30 minutes."),
                   ("carol", "Reminder: Borrel starts in 2 hours.")]


async def test_reminder_overdue_beyond_grace_is_skipped(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
    await chat.dm("bob", "/start")
    await chat.say("bob", "/rsvp yes")
    # The bot was down: the clock jumps past the 24h reminder by 5 hours before waking.
    chat.clock.advance(timedelta(days=2, hours=5))
    await chat.core.run_due()
    assert [s for s in messenger.sent if s.kind == "dm" and "Reminder" in s.text] == []
    # Down for one hour only: the 2-hour reminder is still sent, late.
    chat.clock.advance(timedelta(hours=18))
    await chat.core.run_due()
    assert ["Reminder: Borrel starts in 2 hours."] == [
        s.text.splitlines()[0] for s in messenger.sent if s.kind == "dm" and "Reminder" in s.text]


async def test_promoted_member_who_cannot_be_dmed_is_named_once_in_the_group(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}; max 1")
    await chat.say("bob", "/rsvp yes")
    await chat.say("frank", "/rsvp yes")  # waitlisted; never opened a DM with the bot
    out = await chat.say("bob", "/rsvp no")
    hints = [s.text for s in out if s.kind == "text" and "can't send you private" in s.text]
    assert len(hints) == 1 and hints[0].startswith("Frank,")
    assert "Going (1/1):\n• Frank" in (await chat.say("alice", "/who"))[0].text
    await chat.say("bob", "/rsvp yes")  # waitlisted now
    await chat.say("frank", "/rsvp no")
    out = await chat.advance(timedelta(days=3))  # bob was promoted (he has no DM either)
    texts = [s.text for s in messenger.sent if "can't send you private" in s.text]
    assert sorted(t.split(",")[0] for t in texts) == ["Bob", "Frank"]  # once per person


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


async def test_a_group_the_bot_was_removed_from_does_not_hold_back_the_others(
        db, clock) -> None:
    from bot.core.app import Core
    from bot.core.settings import CoreSettings

    class Removed(RecordingMessenger):
        async def send_text(self, chat, text, buttons=()):
            if "Tomorrow" in text:
                raise RuntimeError("Forbidden: bot was kicked from the group chat")
            return await super().send_text(chat, text, buttons)

    tg, mx = Removed(platform="telegram"), RecordingMessenger(platform="matrix")
    core = Core(db, {"telegram": tg, "matrix": mx}, clock, CoreSettings())
    group = Chat(core, tg, clock, chat_id="-100", admins=["alice"])
    room = Chat(core, mx, clock, chat_id="!room:localhost", admins=["mia"])
    await group.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    code = (await group.say("alice", "/link"))[0].text.splitlines()[-1]
    await room.say("mia", code)
    await group.say("alice", f"/newmeetup Borrel; {local(group, timedelta(days=3))}")
    for _ in range(3):  # woken again and again: the room hears it once
        await group.advance(timedelta(days=2, hours=1) if _ == 0 else timedelta(minutes=10))
    assert sum("Tomorrow: Borrel" in s.text for s in mx.sent) == 1


async def test_an_organiser_ending_the_poll_in_their_client_closes_it(
        chat: Chat, messenger: RecordingMessenger) -> None:
    from bot.core.messages import PollEnd

    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    d1, d2 = local(chat, timedelta(days=5)), local(chat, timedelta(days=6))
    await chat.say("alice", f"/newmeetup Borrel; {d1} | {d2}")
    poll = next(s for s in messenger.sent if s.kind == "poll")
    pid = f"poll-{poll.message_id}"
    await chat.answer_poll("bob", pid, [1])
    await chat.core.handle_poll_end(PollEnd(chat.chat, pid, chat.user("bob"), False))
    assert messenger.sent[-1].text.startswith("Only organisers can close the poll; it stays open")
    await chat.core.handle_poll_end(PollEnd(chat.chat, pid, chat.user("alice"), True))
    assert any(f"Borrel is on {poll.options[1]}" in s.text for s in messenger.sent)
    before = len(messenger.sent)
    await chat.core.handle_poll_end(PollEnd(chat.chat, pid, chat.user("alice"), True))
    assert len(messenger.sent) == before  # already closed: nothing more
