"""The date table: what members type in a Dutch or an English chapter (Europe/Amsterdam), and the
local date and time /newmeetup must read from it on a fixed "now", or the refusal it gives.

Read through `parse_when`, the function /newmeetup reads each date with, on the clock of the
chat. Three "now"s: an ordinary Thursday afternoon, and the Thursdays before the clocks go
forward (Sunday 28 March 2027) and back (Sunday 25 October 2026). The rules are in
docs/decisions.md ("Dates").
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.core.dates import parse_when
from bot.core.errors import UserError
from bot.db.models import Meetup
from bot.db.session import Database
from tests.fakes import Chat
from tests.helpers import snapshot

TZ = "Europe/Amsterdam"

NOV = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # Thursday 26 November 2026, 13:00 CET
FRI = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Friday 27 November 2026, 10:00 CET
MAR = datetime(2027, 3, 25, 12, 0, tzinfo=UTC)  # Thursday 25 March 2027, 13:00 CET
OCT = datetime(2026, 10, 22, 12, 0, tzinfo=UTC)  # Thursday 22 October 2026, 14:00 CEST

# The refusals, by their English text (the msgid the chat's language translates).
NO_HOUR = "“{text}” needs an hour too. Write it like: {example}"
NO_TIME = "“{text}” has no time of day; I read it as {shown}. Add a time, like: {text} 19:30"
MORNING_OR_EVENING = "Is “{text}” {morning} or {evening}? Write {evening} or {morning}."
PART_MISMATCH = ("In “{text}” the time and the part of the day don't go together. Write the "
                 "time alone, like 20:00.")
TWO_TIMES = "“{text}” has two times of day. Write one, like: friday 20:00"
BAD_TIME = "“{text}” isn't a time I can read. Write it like 19:30, 19.30 or 7:30pm."
UNREADABLE = ("I can't read “{text}” as a date and time. Write it like: thursday 19:30 or "
              "2027-03-12 19:00")
GAP = ("“{text}” doesn't exist: the clocks go forward that night. I read it as {shown}; write "
       "that time if you mean it.")
PAST = "“{text}” is in the past: I read it as {shown}."
DAY_OR_MONTH = ("“{text}” is ambiguous (day/month or month/day?); I read it as {shown}. Write "
                "the month as a word or use 2027-03-12 19:00.")
SHOWN = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d\d-\d\d \d\d:\d\d CES?T")
REFUSALS = {NO_HOUR, NO_TIME, MORNING_OR_EVENING, PART_MISMATCH, TWO_TIMES, BAD_TIME,
            UNREADABLE, GAP, PAST, DAY_OR_MONTH}

DUTCH: list[tuple[datetime, str, str]] = [
    # issue 11's forms
    (NOV, "vrijdag 20 uur", "Fri 2026-11-27 20:00 CET"),
    (NOV, "vrijdagavond 20:00", "Fri 2026-11-27 20:00 CET"),
    (NOV, "vrijdag 8 uur 's avonds", "Fri 2026-11-27 20:00 CET"),
    (NOV, "eerstvolgende donderdag 19:30", "Thu 2026-12-03 19:30 CET"),
    (NOV, "morgenavond 19u", "Fri 2026-11-27 19:00 CET"),
    (NOV, "overmorgen 20:00", "Sat 2026-11-28 20:00 CET"),
    (NOV, "zaterdagmiddag 15u30", "Sat 2026-11-28 15:30 CET"),
    # a part of the day without an hour, or a spoken hour without a part of the day
    (NOV, "vrijdagavond", NO_HOUR),
    (NOV, "zaterdagmiddag", NO_HOUR),
    (NOV, "morgenavond", NO_HOUR),
    (NOV, "vrijdag 's avonds", NO_HOUR),
    (NOV, "zaterdag middag", NO_HOUR),
    (NOV, "vrijdag 8 uur", MORNING_OR_EVENING),
    (NOV, "morgen 10 uur", MORNING_OR_EVENING),
    # the part of the day places the hour
    (NOV, "vrijdagavond 8:00", "Fri 2026-11-27 20:00 CET"),
    (NOV, "vrijdagavond 22u", "Fri 2026-11-27 22:00 CET"),
    (NOV, "vanavond 20:00", "Thu 2026-11-26 20:00 CET"),
    (NOV, "vanavond 8 uur", "Thu 2026-11-26 20:00 CET"),
    (NOV, "vanmiddag 3 uur", "Thu 2026-11-26 15:00 CET"),
    (NOV, "morgenochtend 9 uur", "Fri 2026-11-27 09:00 CET"),
    (NOV, "morgenmiddag 2 uur", "Fri 2026-11-27 14:00 CET"),
    (NOV, "zondagmorgen 10u", "Sun 2026-11-29 10:00 CET"),
    (NOV, "overmorgenavond 7 uur", "Sat 2026-11-28 19:00 CET"),
    (NOV, "zaterdag 's middags 3 uur", "Sat 2026-11-28 15:00 CET"),
    (NOV, "zaterdag 12 uur 's middags", "Sat 2026-11-28 12:00 CET"),
    (NOV, "vrijdag om 8 uur 's avonds", "Fri 2026-11-27 20:00 CET"),
    (NOV, "vrijdag 8 uur ’s avonds", "Fri 2026-11-27 20:00 CET"),  # a phone's apostrophe
    (NOV, "Vrijdagavond 20:00", "Fri 2026-11-27 20:00 CET"),  # a phone's capital
    (NOV, "zaterdag 5 december 8 uur 's avonds", "Sat 2026-12-05 20:00 CET"),
    (NOV, "vrijdagochtend 20:00", PART_MISMATCH),
    (NOV, "vrijdagavond 3 uur", PART_MISMATCH),
    # clocks as written: 24-hour
    (NOV, "vrijdag 20:00", "Fri 2026-11-27 20:00 CET"),
    (NOV, "vrijdag 8u", "Fri 2026-11-27 08:00 CET"),
    (NOV, "vrijdag om 20 uur", "Fri 2026-11-27 20:00 CET"),
    (NOV, "morgen 19u30", "Fri 2026-11-27 19:30 CET"),
    (NOV, "morgen 20.00 uur", "Fri 2026-11-27 20:00 CET"),
    (NOV, "morgen 12 uur", "Fri 2026-11-27 12:00 CET"),
    (NOV, "morgen om 20:00", "Fri 2026-11-27 20:00 CET"),
    (NOV, "vrijdag 7:30 pm", "Fri 2026-11-27 19:30 CET"),
    (NOV, "vrijdag 19:00 20:00", TWO_TIMES),
    (NOV, "vrijdag 25:00", BAD_TIME),
    (NOV, "vrijdag half 8", UNREADABLE),
    (NOV, "vrijdag", NO_TIME),
    # "volgende", "komende", "deze": the coming one; a weekday is never today
    (NOV, "volgende vrijdag 20:00", "Fri 2026-11-27 20:00 CET"),
    (NOV, "komende vrijdag 20:00", "Fri 2026-11-27 20:00 CET"),
    (NOV, "aanstaande vrijdag 20:00", "Fri 2026-11-27 20:00 CET"),
    (NOV, "deze vrijdag 20 uur", "Fri 2026-11-27 20:00 CET"),
    (NOV, "donderdag 19:30", "Thu 2026-12-03 19:30 CET"),
    (FRI, "vrijdag 20 uur", "Fri 2026-12-04 20:00 CET"),
    (FRI, "vanavond 20 uur", "Fri 2026-11-27 20:00 CET"),
    (NOV, "vandaag 19:00", "Thu 2026-11-26 19:00 CET"),
    (NOV, "vandaag 12:00", PAST),
    (NOV, "vanochtend 10 uur", PAST),
    # weekdays, short
    (NOV, "ma 19:30", "Mon 2026-11-30 19:30 CET"),
    (NOV, "di 19:30", "Tue 2026-12-01 19:30 CET"),
    (NOV, "wo 19:30", "Wed 2026-12-02 19:30 CET"),
    (NOV, "do 19:30", "Thu 2026-12-03 19:30 CET"),
    (NOV, "vr 20u", "Fri 2026-11-27 20:00 CET"),
    (NOV, "za 15:00", "Sat 2026-11-28 15:00 CET"),
    (NOV, "zo 14:00", "Sun 2026-11-29 14:00 CET"),
    # dates
    (NOV, "12 maart 19:00", "Fri 2027-03-12 19:00 CET"),
    (NOV, "12 mrt 19:00", "Fri 2027-03-12 19:00 CET"),
    (NOV, "12 maart 8 uur 's avonds", "Fri 2027-03-12 20:00 CET"),
    (NOV, "1 december 20:00", "Tue 2026-12-01 20:00 CET"),
    (NOV, "12.03.2027 19:00", "Fri 2027-03-12 19:00 CET"),
    (NOV, "12.03.2027 19.30", "Fri 2027-03-12 19:30 CET"),
    (NOV, "12-3 19:00", "Fri 2027-03-12 19:00 CET"),
    (NOV, "12/03/2027 19:00", "Fri 2027-03-12 19:00 CET"),
    (NOV, "3/12 19:00", "Thu 2026-12-03 19:00 CET"),
    (NOV, "2027-03-12 19:00", "Fri 2027-03-12 19:00 CET"),
    (NOV, "2027-03-12T19:00", "Fri 2027-03-12 19:00 CET"),
    (NOV, "over 2 weken 19:00", "Thu 2026-12-10 19:00 CET"),
    # the clocks go forward on Sunday 28 March 2027: 02:00-03:00 does not exist
    (MAR, "zondag 02:30", GAP),
    (MAR, "zondag 02:00", GAP),
    (MAR, "28 maart 02:30", GAP),
    (MAR, "zondag 01:59", "Sun 2027-03-28 01:59 CET"),
    (MAR, "zondag 03:00", "Sun 2027-03-28 03:00 CEST"),
    (MAR, "zaterdagavond 20 uur", "Sat 2027-03-27 20:00 CET"),
    (MAR, "zondagavond 20 uur", "Sun 2027-03-28 20:00 CEST"),
    (MAR, "maandag 19:30", "Mon 2027-03-29 19:30 CEST"),
    (MAR, "eerstvolgende donderdag 19:30", "Thu 2027-04-01 19:30 CEST"),
    # the clocks go back on Sunday 25 October 2026: 02:00-03:00 happens twice; the second
    (OCT, "zondag 02:30", "Sun 2026-10-25 02:30 CET"),
    (OCT, "zondag 01:30", "Sun 2026-10-25 01:30 CEST"),
    (OCT, "zondag 03:00", "Sun 2026-10-25 03:00 CET"),
    (OCT, "zaterdagavond 20 uur", "Sat 2026-10-24 20:00 CEST"),
    (OCT, "zondagmiddag 15u", "Sun 2026-10-25 15:00 CET"),
    (OCT, "maandag 20:00", "Mon 2026-10-26 20:00 CET"),
    (OCT, "donderdag 20 uur", "Thu 2026-10-29 20:00 CET"),
]

ENGLISH: list[tuple[datetime, str, str]] = [
    # issue 11's forms
    (NOV, "friday 8pm", "Fri 2026-11-27 20:00 CET"),
    (NOV, "tomorrow evening 7:30", "Fri 2026-11-27 19:30 CET"),
    (NOV, "this saturday 3pm", "Sat 2026-11-28 15:00 CET"),
    # a part of the day without an hour
    (NOV, "friday evening", NO_HOUR),
    (NOV, "tomorrow evening", NO_HOUR),
    (NOV, "saturday afternoon", NO_HOUR),
    (NOV, "saturday afternoon 3", NO_HOUR),
    (NOV, "tonight", NO_HOUR),
    # the part of the day places the hour
    (NOV, "friday evening 8:00", "Fri 2026-11-27 20:00 CET"),
    (NOV, "friday evening 20:00", "Fri 2026-11-27 20:00 CET"),
    (NOV, "friday evening 8pm", "Fri 2026-11-27 20:00 CET"),
    (NOV, "friday night 9pm", "Fri 2026-11-27 21:00 CET"),
    (NOV, "tonight 8pm", "Thu 2026-11-26 20:00 CET"),
    (NOV, "this evening 7:30", "Thu 2026-11-26 19:30 CET"),
    (NOV, "this afternoon 4pm", "Thu 2026-11-26 16:00 CET"),
    (NOV, "this morning 10am", PAST),
    (NOV, "tomorrow morning 9:30", "Fri 2026-11-27 09:30 CET"),
    (NOV, "tomorrow afternoon 2:30", "Fri 2026-11-27 14:30 CET"),
    (NOV, "tomorrow evening 11pm", "Fri 2026-11-27 23:00 CET"),
    (NOV, "Tomorrow Evening 7:30", "Fri 2026-11-27 19:30 CET"),
    (NOV, "friday 8 AM", "Fri 2026-11-27 08:00 CET"),
    (NOV, "saturday afternoon 12:30", "Sat 2026-11-28 12:30 CET"),
    (NOV, "saturday in the afternoon 3:00", "Sat 2026-11-28 15:00 CET"),
    (NOV, "friday morning 8pm", PART_MISMATCH),
    (NOV, "friday evening 3 pm", PART_MISMATCH),
    # clocks
    (NOV, "tomorrow noon", "Fri 2026-11-27 12:00 CET"),
    (NOV, "friday noon", "Fri 2026-11-27 12:00 CET"),
    (NOV, "tomorrow at 8pm", "Fri 2026-11-27 20:00 CET"),
    (NOV, "friday at 8 pm", "Fri 2026-11-27 20:00 CET"),
    (NOV, "friday 8 p.m.", "Fri 2026-11-27 20:00 CET"),
    (NOV, "friday 7:30 p.m.", "Fri 2026-11-27 19:30 CET"),
    (NOV, "friday 12pm", "Fri 2026-11-27 12:00 CET"),
    (NOV, "saturday 12am", "Sat 2026-11-28 00:00 CET"),
    (NOV, "friday 7pm 8pm", TWO_TIMES),
    (NOV, "friday 13pm", BAD_TIME),
    (NOV, "friday 8", NO_TIME),
    (NOV, "friday", NO_TIME),
    (NOV, "friday 8 uur", MORNING_OR_EVENING),
    (NOV, "vrijdag 20 uur", "Fri 2026-11-27 20:00 CET"),
    # next, this, coming; a weekday is never today
    (NOV, "next thursday 7:30pm", "Thu 2026-12-03 19:30 CET"),
    (NOV, "next friday 20:00", "Fri 2026-11-27 20:00 CET"),
    (NOV, "coming friday 8pm", "Fri 2026-11-27 20:00 CET"),
    (NOV, "thursday 19:00", "Thu 2026-12-03 19:00 CET"),
    (FRI, "friday 8pm", "Fri 2026-12-04 20:00 CET"),
    (FRI, "tonight 8pm", "Fri 2026-11-27 20:00 CET"),
    (NOV, "today 19:00", "Thu 2026-11-26 19:00 CET"),
    (NOV, "today 11:00", PAST),
    (NOV, "yesterday 19:00", PAST),
    # weekdays, short
    (NOV, "mon 19:30", "Mon 2026-11-30 19:30 CET"),
    (NOV, "tue 7pm", "Tue 2026-12-01 19:00 CET"),
    (NOV, "wed 19:30", "Wed 2026-12-02 19:30 CET"),
    (NOV, "thu 19:30", "Thu 2026-12-03 19:30 CET"),
    (NOV, "fri 20:00", "Fri 2026-11-27 20:00 CET"),
    (NOV, "sat 15:00", "Sat 2026-11-28 15:00 CET"),
    (NOV, "sun 14:00", "Sun 2026-11-29 14:00 CET"),
    # dates
    (NOV, "2027-03-12 19:00", "Fri 2027-03-12 19:00 CET"),
    (NOV, "2027-03-12T19:00", "Fri 2027-03-12 19:00 CET"),
    (NOV, "12.03.2027 19:00", "Fri 2027-03-12 19:00 CET"),
    (NOV, "12 march 2027 19:00", "Fri 2027-03-12 19:00 CET"),
    (NOV, "march 12 7pm", "Fri 2027-03-12 19:00 CET"),
    (NOV, "12 mar 7pm", "Fri 2027-03-12 19:00 CET"),
    (NOV, "dec 1 8pm", "Tue 2026-12-01 20:00 CET"),
    (NOV, "1st december 8pm", "Tue 2026-12-01 20:00 CET"),
    (NOV, "december 24 6pm", "Thu 2026-12-24 18:00 CET"),
    (NOV, "3/12 19:00", DAY_OR_MONTH),
    (NOV, "13/12 19:00", "Sun 2026-12-13 19:00 CET"),
    (NOV, "in 5 days 19:30", "Tue 2026-12-01 19:30 CET"),
    (NOV, "in 2 weeks 19:00", "Thu 2026-12-10 19:00 CET"),
    # the clocks go forward on Sunday 28 March 2027
    (MAR, "sunday 2:30am", GAP),
    (MAR, "sunday 02:30", GAP),
    (MAR, "2027-03-28 02:15", GAP),
    (MAR, "sunday 3:30am", "Sun 2027-03-28 03:30 CEST"),
    (MAR, "saturday 8pm", "Sat 2027-03-27 20:00 CET"),
    (MAR, "sunday evening 8pm", "Sun 2027-03-28 20:00 CEST"),
    (MAR, "next thursday 7:30pm", "Thu 2027-04-01 19:30 CEST"),
    # the clocks go back on Sunday 25 October 2026
    (OCT, "sunday 2:30am", "Sun 2026-10-25 02:30 CET"),
    (OCT, "sunday 1:30am", "Sun 2026-10-25 01:30 CEST"),
    (OCT, "saturday evening 8pm", "Sat 2026-10-24 20:00 CEST"),
    (OCT, "monday 8pm", "Mon 2026-10-26 20:00 CET"),
    (OCT, "next thursday 7:30pm", "Thu 2026-10-29 19:30 CET"),
]


def read(language: str, now: datetime, text: str) -> str:
    """The local date and time (with its zone's abbreviation) `text` is read as, or the English
    text of the refusal."""
    try:
        when = parse_when(text, timezone=TZ, language=language, now=now)
    except UserError as refused:
        return str(refused.message)
    return when.at.astimezone(ZoneInfo(TZ)).strftime("%a %Y-%m-%d %H:%M %Z")


def test_the_table_has_sixty_phrases_a_language_and_every_refusal_is_one_the_bot_gives() -> None:
    for table in (DUTCH, ENGLISH):
        assert len({text for _now, text, _expected in table}) >= 60
        assert all(expected in REFUSALS or SHOWN.fullmatch(expected)
                   for _now, _text, expected in table)


@pytest.mark.parametrize(("now", "text", "expected"), DUTCH, ids=[t for _n, t, _e in DUTCH])
def test_dutch(now: datetime, text: str, expected: str) -> None:
    assert read("nl", now, text) == expected


@pytest.mark.parametrize(("now", "text", "expected"), ENGLISH, ids=[t for _n, t, _e in ENGLISH])
def test_english(now: datetime, text: str, expected: str) -> None:
    assert read("en", now, text) == expected


# --- through the chat -------------------------------------------------------------------------
# The chat's clock starts on Thursday 26 November 2026, 13:00 in Amsterdam (NOV).

SETUP_NL = "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl"


async def test_a_dutch_chapter_announces_vrijdag_20_uur_on_friday_at_eight(
        chat: Chat, db: Database) -> None:
    await chat.say("alice", SETUP_NL)
    out = await chat.say("alice", "/newmeetup Borrel; vrijdag 20 uur; Verkadefabriek")
    assert out[0].text.splitlines()[:2] == ["Nieuwe meetup!",
                                            "📅 Borrel — vr 27 nov 2026, 20:00, Verkadefabriek"]
    async with db.transaction() as s:
        assert await s.scalar(select(Meetup.starts_at)) == datetime(2026, 11, 27, 19, 0,
                                                                     tzinfo=UTC)


async def test_a_dutch_date_poll_reads_each_option_by_the_same_rule(chat: Chat) -> None:
    await chat.say("alice", SETUP_NL)
    await chat.say("alice", "/newmeetup Borrel; vrijdagavond 8 uur | zaterdagmiddag 15u30")
    assert [s.options for s in chat.messenger.sent if s.kind == "poll"] == [
        ("vr 27 nov 2026, 20:00", "za 28 nov 2026, 15:30")]


async def test_a_part_of_the_day_without_an_hour_is_refused_with_an_example(
        chat: Chat, db: Database) -> None:
    await chat.say("alice", SETUP_NL)
    before = await snapshot(db)
    out = await chat.say("alice", "/newmeetup Borrel; vrijdagavond")
    assert [s.text for s in out] == [
        "Bij “vrijdagavond” hoort ook een uur. Schrijf het zo: vrijdagavond 20:00"]
    out = await chat.say("alice", "/newmeetup Borrel; vrijdag 8 uur")
    assert [s.text for s in out] == ["Is “8 uur” 08:00 of 20:00? Schrijf 20:00 of 08:00 (of zet "
                                     "er 's avonds of 's ochtends achter)."]
    assert await snapshot(db) == before


async def test_an_english_chapter_reads_tomorrow_evening_7_30_as_half_past_seven_at_night(
        chat: Chat) -> None:
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    out = await chat.say("alice", "/newmeetup Drinks; friday evening")
    assert [s.text for s in out] == [
        "“friday evening” needs an hour too. Write it like: friday evening 20:00"]
    out = await chat.say("alice", "/newmeetup Drinks; tomorrow evening 7:30")
    assert out[0].text.splitlines()[1] == "📅 Drinks — Fri 27 Nov 2026, 19:30"


async def test_recurring_reads_the_time_of_day_as_newmeetup_does(chat: Chat) -> None:
    await chat.say("alice", SETUP_NL)
    out = await chat.say("alice", "/recurring elke donderdag 19 uur; Borrel")
    assert out[0].text.splitlines()[0] == ("Terugkerende meetup ingesteld: Borrel, elke "
                                           "donderdag om 19:00.")
    out = await chat.say("alice", "/recurring elke vrijdagavond 8 uur; Borrel")
    assert out[0].text.splitlines()[0] == ("Terugkerende meetup ingesteld: Borrel, elke "
                                           "vrijdag om 20:00.")
    for refused, reply in [
            ("elke vrijdagavond", "Bij “elke vrijdagavond” hoort ook een uur. Schrijf het zo: "
                                  "elke vrijdagavond 20:00"),
            ("elke vrijdag 8 uur", "Is “8 uur” 08:00 of 20:00? Schrijf 20:00 of 08:00 (of zet "
                                   "er 's avonds of 's ochtends achter).")]:
        out = await chat.say("alice", f"/recurring {refused}; Borrel")
        assert [s.text for s in out] == [reply]


# -- 2027-03-12 19:00 is read without dateparser --------------------------------------------

ISO_DAYS = ["2026-10-25", "2027-03-28", "2027-03-14", "2028-02-29", "2027-02-29", "2026-10-22",
            "2030-01-01"]


@pytest.mark.parametrize("timezone", [TZ, "America/New_York", "Australia/Lord_Howe"])
def test_an_iso_date_is_read_as_dateparser_reads_it(timezone: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Every hour and half hour of days with the clocks going forward or back (Lord Howe moves
    them by half an hour), a leap day, a day that doesn't exist, today and a day in the past:
    the same instant, or the same refusal, as dateparser gives."""
    import bot.core.dates as dates

    def reading(text: str) -> str:
        try:
            return parse_when(text, timezone=timezone, language="en", now=OCT).at.isoformat()
        except UserError as refused:
            return f"refused: {refused.message} {refused.values}"

    texts = [f"{day}{sep}{hour:02d}:{minute:02d}" for day in ISO_DAYS for hour in range(24)
             for minute in (0, 30) for sep in (" ", "T")]
    quick = [reading(text) for text in texts]
    monkeypatch.setattr(dates, "_iso", lambda *args: None)  # every text through dateparser
    assert quick == [reading(text) for text in texts]


def test_a_chapter_whose_organisers_write_iso_dates_never_loads_dateparser() -> None:
    code = ("import sys\n"
            "from datetime import UTC, datetime\n"
            "from bot.core.dates import parse_when\n"
            "at = parse_when('2027-03-12 19:00', timezone='Europe/Amsterdam', language='nl',\n"
            "                now=datetime(2026, 11, 26, tzinfo=UTC)).at\n"
            "print(at.isoformat(), 'dateparser' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["2027-03-12T18:00:00+00:00", "False"]
