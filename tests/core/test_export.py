"""/export: the list a venue asks for, as a CSV file the organiser gets by private message."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.core.export import cell
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger, Sent
from tests.helpers import chapter, snapshot

SETUP_NL = "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl"


def the_file(sent: list[Sent], to: str) -> list[list[str]]:
    (dm,) = [s for s in sent if s.kind == "dm" and s.to == to]
    assert dm.file is not None and dm.file.mime_type == "text/csv"
    assert dm.file.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads "é"
    return list(csv.reader(io.StringIO(dm.file.content.decode("utf-8-sig"))))


async def borrel_with_a_waitlist(chat: Chat, setup: str | None = None) -> None:
    """Borrel on Thursday 3 December, 19:30, 3 seats: bob +1 and carol take them, dave
    and erin wait in that order, frank may come, gina can't."""
    if setup:
        await chat.say("alice", setup)
    else:
        await chapter(chat)
    await chat.say("alice", "/newmeetup Borrel; 2026-12-03 19:30; Café de Unie; max 3")
    await chat.say("bob", "/rsvp yes +1")
    chat.clock.advance(timedelta(minutes=5))
    for name, answer in [("carol", "yes"), ("dave", "yes"), ("erin", "yes"),
                         ("frank", "maybe"), ("gina", "no")]:
        await chat.say(name, f"/rsvp {answer}" if setup is None else
                       f"/rsvp {dict(yes='ja', maybe='misschien', no='nee')[answer]}")


async def test_the_venue_gets_everyone_with_the_waitlist_in_order(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await borrel_with_a_waitlist(chat)
    await chat.dm("alice", "/start")
    out = await chat.say("alice", "/export")
    assert out[0].to == "group"
    assert out[0].text == "Alice, I've sent you the list for Borrel in a private chat."
    (dm,) = [s for s in out if s.kind == "dm"]
    assert dm.text == "Borrel: 6 answers, as a spreadsheet file (CSV)."
    assert dm.file is not None and dm.file.filename == "borrel-2026-12-03.csv"
    assert the_file(out, "alice") == [
        ["Name", "Platform", "Handle", "Answer", "Guests", "Waitlist position", "Checked in",
         "Answered (Europe/Amsterdam)"],
        ["Bob", "fake", "bob", "yes", "1", "", "", "2026-11-26 13:00"],
        ["Carol", "fake", "carol", "yes", "0", "", "", "2026-11-26 13:05"],
        ["Frank", "fake", "frank", "maybe", "0", "", "", "2026-11-26 13:05"],
        ["Dave", "fake", "dave", "waitlist", "0", "1", "", "2026-11-26 13:05"],
        ["Erin", "fake", "erin", "waitlist", "0", "2", "", "2026-11-26 13:05"],
        ["Gina", "fake", "gina", "no", "0", "", "", "2026-11-26 13:05"],
    ]


async def test_a_dutch_chapter_gets_dutch_headers_and_answers(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await borrel_with_a_waitlist(chat, SETUP_NL)
    await chat.dm("alice", "/start")
    out = await chat.say("alice", "/export")
    assert out[0].text == "Alice, ik heb je de lijst voor Borrel in een privéchat gestuurd."
    rows = the_file(out, "alice")
    assert rows[0] == ["Naam", "App", "Account", "Antwoord", "Gasten",
                       "Plek op wachtlijst", "Ingecheckt", "Geantwoord (Europe/Amsterdam)"]
    assert [(r[0], r[3], r[5]) for r in rows[1:]] == [
        ("Bob", "ja", ""), ("Carol", "ja", ""), ("Frank", "misschien", ""),
        ("Dave", "wachtlijst", "1"), ("Erin", "wachtlijst", "2"), ("Gina", "nee", "")]


async def test_the_latest_meetup_with_its_check_ins_and_a_later_one_by_number(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chapter(chat)
    await chat.dm("alice", "/start")
    await chat.say("alice", "/newmeetup Borrel; 2026-11-26 19:30")
    await chat.say("alice", "/newmeetup Quiz; 2026-12-10 20:00")
    await chat.say("alice", "/newmeetup Picnic; 2026-12-17 14:00")
    await chat.say("bob", "/rsvp yes")
    await chat.say("carol", "/rsvp maybe")
    chat.clock.advance(timedelta(hours=6, minutes=10))  # 19:10 in Den Bosch
    await chat.say("bob", "/checkin")

    (refused,) = await chat.say("alice", "/export last")
    assert refused.text == "No meetup of this chapter has taken place yet."
    chat.clock.advance(timedelta(minutes=30))  # it has started
    out = await chat.say("alice", "/export last")
    assert "Borrel" in out[0].text
    rows = the_file(out, "alice")
    assert [(r[0], r[3], r[6]) for r in rows[1:]] == [("Bob", "yes", "2026-11-26 19:10"),
                                                      ("Carol", "maybe", "")]
    assert "Picnic" in (await chat.say("alice", "/export 2"))[0].text
    (refused,) = await chat.say("alice", "/export 3")
    assert refused.text == ("There are only 2 upcoming meetups with a date; /meetups lists "
                            "them.")
    (refused,) = await chat.say("alice", "/export everything")
    assert refused.text.startswith("Write it like: /export (the next meetup)")


async def test_a_member_is_refused_and_nothing_changes(chat: Chat, db: Database) -> None:
    await borrel_with_a_waitlist(chat)
    await chat.dm("bob", "/start")
    before = await snapshot(db)
    out = await chat.say("bob", "/export")
    assert [s.text for s in out] == ["Only organisers can do that."]
    assert await snapshot(db) == before


async def test_an_organiser_who_never_opened_a_private_chat_is_told_to_start_one(
        chat: Chat, db: Database) -> None:
    await borrel_with_a_waitlist(chat)
    before = await snapshot(db)
    out = await chat.say("alice", "/export")
    assert [(s.kind, s.text) for s in out] == [(
        "text", "Alice, I send the list by private message. I can't send you private "
                "messages yet: open a private chat with me and send /start. Then send "
                "/export here again.")]
    assert await snapshot(db) == before


async def test_a_name_a_spreadsheet_would_run_as_a_formula_stays_text(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chapter(chat)
    await chat.dm("alice", "/start")
    await chat.say("alice", "/newmeetup Borrel; 2026-12-03 19:30")
    await chat.say("=1+2", "/rsvp yes")
    await chat.say("@bob", "/rsvp maybe")
    rows = the_file(await chat.say("alice", "/export"), "alice")
    assert [r[0] for r in rows[1:]] == ["'=1+2", "'@bob"]  # names
    assert [r[2] for r in rows[1:]] == ["'=1+2", "'@bob"]  # handles
    assert [cell(v) for v in ("+1", "-1", "Anne", "", "\tx")] == ["'+1", "'-1", "Anne", "",
                                                                  "'\tx"]
