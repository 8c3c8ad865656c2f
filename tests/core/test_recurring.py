"""/recurring: a rule opens the chapter's next meetup by itself, driven as members would.

The clock starts on Thursday 26 November 2026, 13:00 in Den Bosch (tests/conftest.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.core.errors import UserError
from bot.core.recurring import Rule, describe_rule, occurrences, parse_rule
from bot.db.models import Chapter, Meetup
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger, Sent
from tests.helpers import snapshot

TZ = ZoneInfo("Europe/Amsterdam")
SETUP = "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en"
SETUP_NL = "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl"
MONTHLY = "/recurring first thursday 19:30; Tweetup; Verkadefabriek; max 40"


def texts(sent: list[Sent], kind: str = "text") -> list[str]:
    return [s.text for s in sent if s.kind == kind]


def announced(sent: list[Sent]) -> list[str]:
    """The "📅 …" line of each new-meetup announcement in `sent`."""
    return [t.splitlines()[1] for t in texts(sent) if t.startswith("New meetup!")]


async def meetups(db: Database) -> list[tuple[str, str, datetime | None]]:
    async with db.transaction() as s:
        rows = await s.scalars(select(Meetup).order_by(Meetup.id))
        return [(m.title, m.status, m.starts_at) for m in rows]


def upcoming(rows: list[tuple[str, str, datetime | None]], now: datetime) -> list[datetime]:
    return [at for _t, status, at in rows if status == "scheduled" and at and at > now]


async def test_a_monthly_rule_opens_the_first_meetup_and_the_next_after_it(
        chat: Chat, db: Database, messenger: RecordingMessenger) -> None:
    await chat.say("alice", SETUP)
    await chat.dm("bob", "/start")
    await chat.say("bob", "/next")

    out = await chat.say("alice", MONTHLY)
    assert texts(out)[0].splitlines() == [
        "Recurring meetup set: Tweetup, the first Thursday of the month at 19:30.",
        "Where: Verkadefabriek",
        "Seats: 40",
        "Next dates:",
        "• Thu 3 Dec 2026, 19:30",
        "• Thu 7 Jan 2027, 19:30",
        "• Thu 4 Feb 2027, 19:30",
        "The first one is open now; stop the rule with /recurring off.",
    ]
    post = next(s for s in out if s.text.startswith("New meetup!"))
    assert post.text.splitlines()[1:3] == ["📅 Tweetup — Thu 3 Dec 2026, 19:30, Verkadefabriek",
                                           "0/40 going · 0 maybe"]
    assert [b.payload.split(":")[2] for b in post.buttons] == ["yes", "maybe", "no"]
    assert texts(out, "dm") == ["SMC Den Bosch has announced its next meetup: "
                                "Tweetup — Thu 3 Dec 2026, 19:30, Verkadefabriek"]
    assert await meetups(db) == [("Tweetup", "scheduled", datetime(2026, 12, 3, 18, 30, tzinfo=UTC))]
    async with db.transaction() as s:
        chapter = await s.scalar(select(Chapter))
        assert chapter is not None
        assert chapter.recurring_rule == "FREQ=MONTHLY;BYDAY=+1TH;BYHOUR=19;BYMINUTE=30;BYSECOND=0"
        assert chapter.recurring_since == date(2026, 12, 3)

    await chat.say("bob", "/rsvp yes")
    out = await chat.advance(timedelta(days=7, hours=10))  # Thursday 3 December, 23:00
    assert texts(out) == ["Tomorrow: Tweetup, Thu 3 Dec 2026, 19:30, Verkadefabriek. Coming? "
                          "/rsvp yes — who's coming? /who"]
    assert len(await meetups(db)) == 1  # under way: the next one waits until it is over

    out = await chat.advance(timedelta(hours=1))  # the follow-up, 4 hours after the start
    assert texts(out)[0].startswith("Thanks for coming to Tweetup!")
    assert announced(out) == ["📅 Tweetup — Thu 7 Jan 2027, 19:30, Verkadefabriek"]
    assert [r[2] for r in await meetups(db)] == [datetime(2026, 12, 3, 18, 30, tzinfo=UTC),
                                                 datetime(2027, 1, 7, 18, 30, tzinfo=UTC)]

    out = await chat.advance(timedelta(days=30))  # up to the eve of the next one: once
    assert announced(out) == []
    assert len(upcoming(await meetups(db), chat.clock.now())) == 1

    shown = texts(await chat.say("alice", "/recurring"))[0].splitlines()
    assert shown[0] == "Recurring meetup: Tweetup, the first Thursday of the month at 19:30."
    assert shown[4:] == ["• Thu 7 Jan 2027, 19:30", "• Thu 4 Feb 2027, 19:30",
                         "• Thu 4 Mar 2027, 19:30",
                         "The next one opens when Tweetup (Thu 7 Jan 2027, 19:30) is over."]


async def test_cancel_opens_the_date_after_it(chat: Chat, db: Database) -> None:
    await chat.say("alice", SETUP)
    await chat.say("alice", "/recurring first thursday 19:30")
    assert await meetups(db) == [("SMC Den Bosch", "scheduled",
                                  datetime(2026, 12, 3, 18, 30, tzinfo=UTC))]

    await chat.say("alice", "/cancel")
    out = await chat.say("alice", "/cancel yes")
    assert texts(out)[0] == "❌ SMC Den Bosch is cancelled."
    assert announced(out) == ["📅 SMC Den Bosch — Thu 7 Jan 2027, 19:30"]
    await chat.say("alice", "/cancel")
    out = await chat.say("alice", "/cancel yes")
    assert announced(out) == ["📅 SMC Den Bosch — Thu 4 Feb 2027, 19:30"]
    assert [(r[1], r[2].month) for r in await meetups(db) if r[2]] == [
        ("cancelled", 12), ("cancelled", 1), ("scheduled", 2)]

    # Setting the rule again doesn't bring a cancelled date back, nor open a second meetup.
    out = await chat.say("alice", "/recurring first thursday 19:30")
    assert announced(out) == []
    assert texts(out)[0].splitlines()[-1] == (
        "The next one opens when SMC Den Bosch (Thu 4 Feb 2027, 19:30) is over.")
    assert len(upcoming(await meetups(db), chat.clock.now())) == 1


async def test_an_upcoming_meetup_keeps_its_place(chat: Chat, db: Database) -> None:
    await chat.say("alice", SETUP)
    await chat.say("alice", "/newmeetup Kerstborrel; 2026-12-17 20:00")
    out = await chat.say("alice", "/recurring every friday 20:00; Vrijmibo")
    assert announced(out) == []
    assert texts(out)[0].splitlines() == [
        "Recurring meetup set: Vrijmibo, every Friday at 20:00.",
        "Next dates:",
        "• Fri 18 Dec 2026, 20:00",
        "• Fri 25 Dec 2026, 20:00",
        "• Fri 1 Jan 2027, 20:00",
        "The next one opens when Kerstborrel (Thu 17 Dec 2026, 20:00) is over.",
    ]
    out = await chat.advance(timedelta(days=21, hours=12))  # 17 December, past midnight
    assert announced(out) == ["📅 Vrijmibo — Fri 18 Dec 2026, 20:00"]
    assert len(upcoming(await meetups(db), chat.clock.now())) == 1


async def test_off_stops_the_rule_and_keeps_what_is_planned(chat: Chat, db: Database) -> None:
    await chat.say("alice", SETUP)
    await chat.say("alice", MONTHLY)
    await chat.say("alice", "/recurring off")
    out = await chat.say("alice", "/recurring off yes")
    assert texts(out) == ["Recurring meetups are off. Meetups already planned stay; /cancel "
                          "cancels the next one."]
    assert texts(await chat.say("bob", "/meetups")) == [
        "Upcoming meetups:\n• Tweetup — Thu 3 Dec 2026, 19:30, Verkadefabriek"]
    out = await chat.advance(timedelta(days=10))
    assert announced(out) == []
    assert len(await meetups(db)) == 1
    assert texts(await chat.say("alice", "/recurring")) == [
        "This chapter has no recurring meetup. Set one like: /recurring first thursday 19:30; "
        "Tweetup; Verkadefabriek; max 40"]
    assert texts(await chat.say("alice", "/recurring off")) == [
        "There is no recurring meetup to stop."]
    async with db.transaction() as s:
        chapter = await s.scalar(select(Chapter))
        assert chapter is not None
        assert (chapter.recurring_rule, chapter.recurring_since, chapter.recurring_title,
                chapter.recurring_venue, chapter.recurring_capacity) == (None,) * 5


async def test_every_two_weeks(chat: Chat, db: Database) -> None:
    await chat.say("alice", SETUP)
    out = await chat.say("alice", "/recurring every 2 weeks fri 8pm; Borrel; max 12")
    assert texts(out)[0].splitlines() == [
        "Recurring meetup set: Borrel, every 2 weeks on Friday at 20:00.",
        "Seats: 12",
        "Next dates:",
        "• Fri 27 Nov 2026, 20:00",
        "• Fri 11 Dec 2026, 20:00",
        "• Fri 25 Dec 2026, 20:00",
        "The first one is open now; stop the rule with /recurring off.",
    ]
    assert announced(out) == ["📅 Borrel — Fri 27 Nov 2026, 20:00"]
    out = await chat.advance(timedelta(days=2))
    assert announced(out) == ["📅 Borrel — Fri 11 Dec 2026, 20:00"]
    out = await chat.advance(timedelta(days=14))
    assert announced(out) == ["📅 Borrel — Fri 25 Dec 2026, 20:00"]
    assert [r[2].astimezone(TZ).day for r in await meetups(db) if r[2]] == [27, 11, 25]


async def test_dst_keeps_the_local_time(chat: Chat, db: Database) -> None:
    """Summer time starts on 28 March 2027: 19:30 stays 19:30 in Den Bosch, so 17:30 UTC."""
    await chat.say("alice", SETUP)
    await chat.say("alice", "/recurring first thursday 19:30")
    await chat.advance(timedelta(days=127))  # to Friday 2 April 2027, 13:00
    rows = await meetups(db)
    assert [r[2] for r in rows] == [
        datetime(2026, 12, 3, 18, 30, tzinfo=UTC), datetime(2027, 1, 7, 18, 30, tzinfo=UTC),
        datetime(2027, 2, 4, 18, 30, tzinfo=UTC), datetime(2027, 3, 4, 18, 30, tzinfo=UTC),
        datetime(2027, 4, 1, 17, 30, tzinfo=UTC), datetime(2027, 5, 6, 17, 30, tzinfo=UTC)]
    assert {r[2].astimezone(TZ).strftime("%H:%M") for r in rows if r[2]} == {"19:30"}


def test_occurrences_across_a_dst_change() -> None:
    rule = parse_rule("last sunday 19:30").rrule_text()
    after = datetime(2027, 2, 1, tzinfo=UTC)
    assert occurrences(rule, date(2027, 2, 1), "Europe/Amsterdam", after, 3) == [
        datetime(2027, 2, 28, 18, 30, tzinfo=UTC),
        datetime(2027, 3, 28, 17, 30, tzinfo=UTC),  # the night the clocks go forward
        datetime(2027, 4, 25, 17, 30, tzinfo=UTC)]
    autumn = occurrences(rule, date(2027, 2, 1), "Europe/Amsterdam",
                         datetime(2027, 9, 1, tzinfo=UTC), 2)  # 31 October: clocks go back
    assert [d.astimezone(TZ).strftime("%d %b %H:%M") for d in autumn] == [
        "26 Sep 19:30", "31 Oct 19:30"]
    assert [d.hour for d in autumn] == [17, 18]


@pytest.mark.parametrize(("text", "rule"), [
    ("first thursday 19:30", Rule(3, 19, 30, nth=1)),
    ("Last Friday of the month at 8 pm", Rule(4, 20, 0, nth=-1)),
    ("second tue 19.30", Rule(1, 19, 30, nth=2)),
    ("every thursday 7:30pm", Rule(3, 19, 30)),
    ("every other wed 19:00", Rule(2, 19, 0, interval=2)),
    ("every 2 weeks on Thursday at 19:30", Rule(3, 19, 30, interval=2)),
    ("eerste donderdag 19u30", Rule(3, 19, 30, nth=1)),
    ("elke eerste donderdag van de maand om 19:30", Rule(3, 19, 30, nth=1)),
    ("laatste vr 20u", Rule(4, 20, 0, nth=-1)),
    ("vierde za 14.00", Rule(5, 14, 0, nth=4)),
    ("elke maandag 19 uur", Rule(0, 19, 0)),
    ("elke 2 weken do. 19:30", Rule(3, 19, 30, interval=2)),
    ("om de week zo 12:00", Rule(6, 12, 0, interval=2)),
    # the time of day as /newmeetup reads it (bot/core/time_of_day.py)
    ("elke vrijdagavond 20:00", Rule(4, 20, 0)),
    ("elke vrijdag om 8 uur 's avonds", Rule(4, 20, 0)),
    ("laatste zaterdagmiddag 3 uur", Rule(5, 15, 0, nth=-1)),
    ("every friday evening 7:30", Rule(4, 19, 30)),
    ("every friday 7:30 p.m.", Rule(4, 19, 30)),
])
def test_rules_in_english_and_dutch(text: str, rule: Rule) -> None:
    assert parse_rule(text) == rule
    assert Rule.from_rrule(rule.rrule_text()) == rule


def test_rrule_strings() -> None:
    assert parse_rule("last friday 19:30").rrule_text() == (
        "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=19;BYMINUTE=30;BYSECOND=0")
    assert parse_rule("elke 2 weken do 19:30").rrule_text() == (
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=19;BYMINUTE=30;BYSECOND=0")
    assert describe_rule(parse_rule("every 2 weeks thu 19:30"), "nl") == (
        "om de 2 weken op donderdag om 19:30")


@pytest.mark.parametrize("text", ["fifth thursday 19:30", "every 7 weeks thu 19:30",
                                  "first blursday 19:30", "sometimes 19:30", "every 19:30",
                                  "first thursday 25:00", "first thursday 19",
                                  "first thursday 13pm", "first thursday",
                                  "elke vrijdagavond", "elke vrijdag 8 uur",
                                  "every friday morning 20:00", "every friday 19:00 20:00"])
def test_unreadable_rules(text: str) -> None:
    with pytest.raises(UserError):
        parse_rule(text)


async def test_a_dutch_chapter(chat: Chat, db: Database) -> None:
    await chat.say("alice", SETUP_NL)
    out = await chat.say("alice", "/recurring elke eerste donderdag van de maand om 19u30; "
                                  "Borrel; Verkadefabriek")
    assert texts(out)[0].splitlines() == [
        "Terugkerende meetup ingesteld: Borrel, de eerste donderdag van de maand om 19:30.",
        "Waar: Verkadefabriek",
        "Volgende datums:",
        "• do 3 dec 2026, 19:30",
        "• do 7 jan 2027, 19:30",
        "• do 4 feb 2027, 19:30",
        "De eerste staat nu open; met /recurring uit zet je de regel stop.",
    ]
    assert texts(out)[1].splitlines()[:2] == ["Nieuwe meetup!",
                                              "📅 Borrel — do 3 dec 2026, 19:30, Verkadefabriek"]
    out = await chat.say("alice", "/recurring om de week vr 20.00")
    assert texts(out)[0].splitlines()[0] == (
        "Terugkerende meetup ingesteld: SMC Den Bosch, om de 2 weken op vrijdag om 20:00.")
    assert texts(out)[0].splitlines()[-1] == (
        "De volgende gaat open als Borrel (do 3 dec 2026, 19:30) voorbij is.")
    assert texts(await chat.say("alice", "/recurring vijfde donderdag 19:30")) == [
        "Ik kan “vijfde donderdag 19:30” niet als regel lezen. Schrijf het zo: /recurring "
        "eerste donderdag 19:30, /recurring elke vrijdag 20:00 of /recurring elke 2 weken "
        "donderdag 19:30"]
    assert texts(await chat.say("alice", "/recurring eerste donderdag 25.00")) == [
        "“25.00” kan ik niet als tijd lezen. Schrijf het zo: 19:30, 19.30 of 19u30."]
    assert "/recurring off ja" in texts(await chat.say("alice", "/recurring uit"))[0]
    assert texts(await chat.say("alice", "/recurring uit ja")) == [
        "Terugkerende meetups staan uit. Meetups die al gepland zijn blijven staan; met /cancel "
        "zeg je de volgende af."]
    assert "/recurring eerste donderdag 19:30 — " in texts(await chat.say("bob", "/help"))[0]


@pytest.mark.parametrize(("who", "text", "expected"), [
    ("alice", "/recurring fifth thursday 19:30", "I can't read “fifth thursday 19:30” as a rule"),
    ("alice", "/recurring first thursday 25:00", "“25:00” isn't a time I can read"),
    ("alice", "/recurring first thursday 7pmish", "isn't a time I can read"),
    ("alice", "/recurring first thursday", "“first thursday” has no time of day"),
    ("alice", "/recurring first thursday 19:30; T; V; W", "I don't know what “W” means here"),
    ("alice", "/recurring first thursday 19:30; T; V; max 0", "After max, write a number"),
    ("alice", "/recurring first thursday 19:30; " + "x" * 300, "That title is 300 characters"),
    ("alice", "/recurring " + "first " * 50 + "thursday 19:30", "as a rule"),
    ("alice", "/recurring off", "There is no recurring meetup to stop."),
    ("bob", "/recurring first thursday 19:30", "Only organisers can do that."),
    ("bob", "/recurring off", "Only organisers can do that."),
    ("bob", "/recurring", "Only organisers can do that."),
])
async def test_refused_without_trace(chat: Chat, db: Database, who: str, text: str,
                                     expected: str) -> None:
    await chat.say("alice", SETUP)
    await chat.say("bob", "/help")
    before = await snapshot(db)
    out = await chat.say(who, text)
    assert len(out) == 1 and out[0].kind == "text"
    assert expected in out[0].text
    assert len(out[0].text) < 300
    assert await snapshot(db) == before


async def test_refused_in_a_dm_and_for_a_running_rule(chat: Chat, db: Database) -> None:
    await chat.say("alice", SETUP)
    await chat.dm("alice", "/help")
    before = await snapshot(db)
    assert texts(await chat.dm("alice", "/recurring first thursday 19:30")) == [
        "Send this in your chapter's group chat."]
    assert await snapshot(db) == before

    await chat.say("alice", MONTHLY)
    before = await snapshot(db)
    out = await chat.say("alice", "/recurring every blursday 19:30")
    assert texts(out)[0].startswith("I can't read “every blursday 19:30” as a rule.")
    assert await snapshot(db) == before  # the rule that runs is kept as it was
