"""Reminders by DM and in the group, exactly once; who can't get a DM is named in the group once."""

from __future__ import annotations

from datetime import timedelta

from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter, local


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


async def test_reminders_survive_changing_answers_guests_and_times_exactly_once(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chapter(chat)
    await chat.say("alice", f"/newmeetup T; {local(chat, timedelta(days=3))}; Cafe; max 2")
    for name in ("bob", "carol", "dave"):
        await chat.dm(name, "/start")
    await chat.say("bob", "/rsvp yes")
    await chat.say("bob", "/rsvp no")
    await chat.say("bob", "/rsvp yes")            # yes/no/yes: still one of each
    await chat.say("carol", "/rsvp yes")
    await chat.say("dave", "/rsvp yes")           # waitlisted
    await chat.dm("carol", "/remind 3h")          # carol: only 3 hours before
    await chat.advance(timedelta(days=2, hours=1))  # past the 24h reminders
    await chat.say("bob", "/rsvp yes +0")         # a guests change after the 24h one was sent
    await chat.say("carol", "/rsvp no")           # dave moves up
    messenger.take()
    await chat.advance(timedelta(hours=23))
    reminders = [(s.to, s.text.split("\n")[0]) for s in messenger.sent
                 if s.kind == "dm" and s.text.startswith("Reminder")]
    assert sorted(reminders) == [("bob", "Reminder: T starts in 2 hours."),
                                 ("dave", "Reminder: T starts in 2 hours.")]


async def test_cancel_and_create_again_reminds_only_the_new_answers(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chapter(chat)
    when = local(chat, timedelta(days=3))
    await chat.say("alice", f"/newmeetup T; {when}")
    await chat.dm("bob", "/start")
    await chat.dm("carol", "/start")
    await chat.say("bob", "/rsvp yes")
    await chat.say("carol", "/rsvp yes")
    await chat.say("alice", "/cancel")
    await chat.say("alice", "/cancel yes")
    await chat.say("alice", f"/newmeetup T; {when}")
    await chat.say("carol", "/rsvp yes")
    messenger.take()
    await chat.advance(timedelta(days=3))
    dms = [s.to for s in messenger.sent if s.kind == "dm"]
    assert sorted(dms) == ["carol", "carol"]
    assert len([t for t in messenger.group_texts() if t.startswith("Tomorrow")]) == 1


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


async def test_saying_yes_again_keeps_one_reminder_of_each_and_leaves_the_announcement(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chapter(chat)
    await chat.say("alice", f"/newmeetup T; {local(chat, timedelta(days=3))}; Cafe")
    yes = next(s for s in messenger.sent if s.buttons).buttons[0].payload
    await chat.dm("bob", "/start")
    await chat.say("bob", "/rsvp yes")
    assert [s for s in messenger.take() if s.kind == "edit"]  # the counts went up
    assert (await chat.say("bob", "/rsvp yes"))[0].text == "Bob is going to T."
    assert (await chat.press("bob", yes)).accepted
    assert [s for s in messenger.take() if s.kind == "edit"] == []  # the counts are the same
    await chat.say("bob", "/rsvp yes +1")
    edits = [s for s in messenger.take() if s.kind == "edit"]
    assert edits and "2 going" in edits[-1].text
    await chat.advance(timedelta(days=3))
    reminders = [s.text.split("\n")[0] for s in messenger.sent
                 if s.kind == "dm" and s.text.startswith("Reminder")]
    assert reminders == ["Reminder: T starts in 1 day.", "Reminder: T starts in 2 hours."]
