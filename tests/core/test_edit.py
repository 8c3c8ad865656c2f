"""Changing a meetup: /edit moves it, renames it, gives it more seats or a description, and
nobody who answered loses their answer or misses the news; a meetup says more than a title."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from sqlalchemy import select

from bot.db.models import Meetup, Rsvp, RsvpStatus
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter, local, snapshot


async def borrel(chat: Chat, extra: str = "; Verkadefabriek; max 2") -> None:
    """A Borrel in three days; bob and carol go, dave waits, erin might come."""
    await chapter(chat)
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}{extra}")
    for name in ("bob", "carol", "dave", "erin"):
        await chat.dm(name, "/start")
    await chat.say("bob", "/rsvp yes")
    await chat.say("carol", "/rsvp yes")
    await chat.say("dave", "/rsvp yes")  # the waitlist
    await chat.say("erin", "/rsvp maybe")


def calendar_of(sent: object) -> Calendar:
    file = getattr(sent, "file", None)
    assert file is not None
    return Calendar.from_ical(file.content)


async def test_a_new_time_reaches_everyone_who_answered_and_the_reminders_follow_it(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await borrel(chat)
    await chat.advance(timedelta(days=2))  # the 24 h reminder with the calendar file
    first = [s for s in messenger.dms("bob") if s.text.startswith("Reminder")]
    assert first and first[0].file is not None
    assert calendar_of(first[0]).walk("VEVENT")[0]["SEQUENCE"] == 0
    messenger.take()
    old = local(chat, timedelta(hours=24))[-5:]
    new_day = chat.clock.now() + timedelta(days=4)
    out = await chat.say("alice", f"/edit when {local(chat, timedelta(days=4))}")
    assert out[0].text.startswith("Borrel changed. When: ")
    assert "→" in out[0].text and "4 people who answered" in out[0].text
    dms = {s.to: s for s in messenger.sent if s.kind == "dm"}
    assert sorted(dms) == ["bob", "carol", "dave", "erin"]
    assert dms["dave"].text.startswith("✏️ Borrel (SMC Den Bosch) has changed.")
    assert f"{old} → " in dms["dave"].text
    # bob had the calendar file: he gets the new version of the same event.
    updated = calendar_of(dms["bob"]).walk("VEVENT")[0]
    assert updated["SEQUENCE"] == 1 and updated["UID"] == "meetup-1@irlbot"
    assert dms["erin"].file is None  # never had one
    # The announcement shows the new date.
    edits = [s for s in messenger.sent if s.kind == "edit"]
    assert edits and new_day.strftime("%-d %b") in edits[-1].text
    # Nothing at the old time; the reminders come before the new one.
    messenger.take()
    await chat.advance(timedelta(days=1, hours=1))
    assert not [s for s in messenger.sent if s.kind == "dm"]
    await chat.advance(timedelta(days=2, hours=22))
    reminders = sorted((s.to, s.text.splitlines()[0]) for s in messenger.sent
                       if s.kind == "dm" and s.text.startswith("Reminder"))
    assert reminders == [("bob", "Reminder: Borrel starts in 1 day."),
                         ("bob", "Reminder: Borrel starts in 2 hours."),
                         ("carol", "Reminder: Borrel starts in 1 day."),
                         ("carol", "Reminder: Borrel starts in 2 hours.")]
    # Each has each version of the file once: the reminders at the new time bring none.
    assert all(s.file is None for s in messenger.sent if s.kind == "dm")


async def test_more_seats_move_the_waitlist_up_and_fewer_than_are_taken_are_refused(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await borrel(chat)
    before = await snapshot(chat.core.db)
    out = await chat.say("alice", "/edit max 1")
    assert out[0].text == ("2 seats are taken, so 1 person would have to drop out first. "
                           "Keep at least max 2.")
    assert await snapshot(chat.core.db) == before
    messenger.take()
    out = await chat.say("alice", "/edit max 3")
    assert out[0].text.startswith("Borrel changed. Seats: 2 → 3.")
    dave = messenger.dms("dave")
    assert len(dave) == 1 and dave[0].text.startswith("Good news: a seat opened up.")
    assert [s.text.splitlines()[1] for s in messenger.dms("bob")] == ["Seats: 2 → 3"]
    async with chat.core.db.transaction() as s:
        statuses = {p: st for p, st in (await s.execute(select(Rsvp.person_id, Rsvp.status)))}
    assert sorted(statuses.values()) == sorted(
        [RsvpStatus.YES, RsvpStatus.YES, RsvpStatus.YES, RsvpStatus.MAYBE])


async def test_details_in_the_announcement_who_reminders_and_calendar(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chapter(chat)
    when = local(chat, timedelta(days=2))
    out = await chat.say("alice", f"/newmeetup Borrel; {when}; #smcdb; https://meet.jit.si/borrel;"
                                  " ends 23:30; about Short talks, then drinks; Verkadefabriek")
    card = out[0].text
    assert f"{when[-5:]}–23:30, Verkadefabriek" in card
    assert "📝 Short talks, then drinks" in card
    assert "🔗 https://meet.jit.si/borrel" in card and "🏷 #smcdb" in card
    await chat.dm("bob", "/start")
    await chat.say("bob", "/rsvp yes")
    who = (await chat.say("bob", "/who"))[0].text
    assert "📝 Short talks, then drinks" in who and "–23:30" in who
    await chat.advance(timedelta(days=1, hours=1))
    reminder = next(s for s in messenger.dms("bob") if s.text.startswith("Reminder"))
    assert "Online: https://meet.jit.si/borrel" in reminder.text
    event = calendar_of(reminder).walk("VEVENT")[0]
    assert event["URL"] == "https://meet.jit.si/borrel"
    assert "Short talks, then drinks" in str(event["DESCRIPTION"])
    assert event.decoded("DTEND").strftime("%H:%M") in ("22:30", "21:30")  # 23:30 local, in UTC


async def test_each_field_can_change_and_be_emptied(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await borrel(chat)
    expected = [
        ("/edit venue Café de Unie", "Where: Verkadefabriek → Café de Unie."),
        ("/edit title Borrel XL", "Title: Borrel → Borrel XL."),
        ("/edit about Bring a friend", "About: not set → Bring a friend."),
        ("/edit ends 22:00", "Ends: not set → 22:00."),
        ("/edit link https://meet.jit.si/x", "Online: not set → https://meet.jit.si/x."),
        ("/edit hashtag #borrel", "Hashtag: not set → #borrel."),
        ("/edit venue -", "Where: Café de Unie → not set."),
        ("/edit max -", "Seats: 2 → no limit."),
    ]
    for command, line in expected:
        out = await chat.say("alice", command)
        assert line in out[0].text, (command, out[0].text)
    async with chat.core.db.transaction() as s:
        meetup = await s.scalar(select(Meetup))
    assert meetup is not None
    assert (meetup.title, meetup.venue, meetup.about, meetup.hashtag, meetup.capacity) == (
        "Borrel XL", None, "Bring a friend", "#borrel", None)
    assert meetup.sequence == 7  # every change a calendar shows; the seats don't count


async def test_edit_refuses_what_it_cannot_take_and_changes_nothing(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await borrel(chat)
    before = await snapshot(chat.core.db)
    refusals = {
        "/edit": "Write it like: /edit when",
        "/edit colour red": "Write it like: /edit when",
        "/edit when yesterday 19:00": "in the past",
        "/edit when someday": "I can't read",
        "/edit title -": "always has a date and a title",
        f"/edit title {'x' * 10_000}": "keep it under 200",
        "/edit link meet.jit.si": "Write the online link in full",
        "/edit link javascript:alert(1)": "Write the online link in full",
        "/edit hashtag nohash": "Write the hashtag like #tweetupdb",
        "/edit ends 25:00": "isn't a time I can read",
        "/edit ends soon": "Write the end time like: ends 22:00",
        "/edit max ²": "After max, write a number",
        "/edit venue Verkadefabriek": "Borrel already has that.",
    }
    for command, reply in refusals.items():
        chat.clock.advance(timedelta(seconds=10))  # within the limit of commands a minute
        out = await chat.say("alice", command)
        assert reply in out[0].text, (command, out[0].text)
    assert "Only organisers" in (await chat.say("bob", "/edit title Mine"))[0].text
    assert await snapshot(chat.core.db) == before


async def test_a_date_poll_keeps_its_end_time_for_the_date_chosen(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chapter(chat)
    d1, d2 = local(chat, timedelta(days=5)), local(chat, timedelta(days=6))
    await chat.say("alice", f"/newmeetup Borrel; {d1} | {d2}; ends 23:00")
    out = await chat.say("alice", "/edit when friday 20:00")
    assert "still being voted on" in out[0].text
    await chat.say("bob", "/vote 2")
    out = await chat.say("alice", "/closepoll")
    assert any(f"{d2[-5:]}–23:00" in s.text for s in out)


async def test_a_dutch_chapter_edits_in_dutch(chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}; "
                            "Verkadefabriek; tot 23:00; over Korte talks")
    await chat.dm("bob", "/start")
    await chat.say("bob", "/rsvp ja")
    out = await chat.say("alice", "/edit plek Café de Unie")
    assert out[0].text.startswith("Borrel is gewijzigd. Waar: Verkadefabriek → Café de Unie.")
    dm = messenger.dms("bob")[-1].text
    assert dm == ("✏️ Borrel (SMC Den Bosch) is gewijzigd.\n"
                  "Waar: Verkadefabriek → Café de Unie")
    assert "Schrijf het zo: /edit wanneer" in (await chat.say("alice", "/edit kleur"))[0].text
