"""Ten thousand random commands through the core (issue 10): every name in the command table,
with random text, unicode digits, control and invisible characters and huge numbers, from
random members and organisers, in the groups and in DMs, with random time steps between them.

What must hold: no unhandled exception (nothing logged as an error, no "something went
wrong"); every command is answered in the chat where it was typed; and after each step the
database keeps its invariants (seats taken never exceed the maximum, waitlist positions are
1..n without gaps, no reminder waits for someone who is not a yes, at most one open poll per
chapter).

One SQLite database and one core for the whole run: between examples the tables are emptied
and the two chapters set up again, so each example is a story of its own and hypothesis can
shrink a failure to a short one. CI runs EXAMPLES x STEPS = 10,000 commands;
IRL_RANDOM_EXAMPLES sets the number of stories.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, text

from bot.clock import VirtualClock
from bot.core.app import SOMETHING_WENT_WRONG, Core
from bot.core.commands import COMMANDS
from bot.core.i18n import SUPPORTED_LANGUAGES, gettext
from bot.core.settings import CoreSettings
from bot.db.models import Base
from bot.db.session import Database
from tests.conftest import START
from tests.fakes import Chat, RecordingMessenger, Sent
from tests.helpers import TZ

STEPS = 50  # commands in one example
EXAMPLES = int(os.environ.get("IRL_RANDOM_EXAMPLES", 200))  # x STEPS = 10,000 commands

MEMBERS = ("alice", "bob", "carol", "dave", "erin", "frank")
ADMINS = ("alice", "bob")  # admins of both groups: organisers once they set up
GROUPS = ("g1", "g2")

# --- what members type ------------------------------------------------------------------------

UNICODE_DIGITS = ["²", "٣", "３", "①", "৪", "߁", "𝟗", "Ⅻ", "½"]
INVISIBLE = ["\u200b", "\u200d", "\u2060", "\ufeff", "\u3164", "\u2800", "\u202e", "\u2066",
             "\u00ad", "\u180e", "\u0301", "\U000e0041"]
CONTROL = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\r", "\t", "\n", "\u2028"]
HUGE = ["9" * 12, "1" * 400, "1" * 4301, "9" * 5000, "-" + "9" * 30, "1e999", "0" * 50 + "1"]
ECHO = ["/cancel@irlbot", "!cancel", "<b>x</b>", "*bold*", "@room", "https://example.org/x"]
ALPHABET = (list("abcXYZ019;|+-:/@!.,# ") + UNICODE_DIGITS + INVISIBLE + CONTROL
            + ["é", "ß", "漢", "🙂", "\U0001f1f3", "\U0001f1f1"])


@dataclass(frozen=True)
class When:
    """A date and time `days` and `hours` from the moment of typing, as a member types it."""

    days: int
    hours: int

    def typed(self, chat: Chat) -> str:
        moment = chat.clock.now() + timedelta(days=self.days, hours=self.hours)
        return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


Token = str | When

whens = st.builds(When, st.integers(-1, 40), st.integers(0, 23))
# Text no command expects: digits of other scripts, numbers too big for int(), invisible and
# control characters, markup and commands to be echoed, and random mixes of all of those.
weird: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(UNICODE_DIGITS + HUGE),
    st.sampled_from(ECHO),
    st.lists(st.sampled_from(INVISIBLE + CONTROL), min_size=1, max_size=4).map("".join),
    st.text(st.sampled_from(ALPHABET), max_size=10),
    st.builds(lambda a, b: a + b, st.sampled_from(["+", "max ", "1", "19:", ""]),
              st.sampled_from(UNICODE_DIGITS + HUGE)),
)


def slot(*valid: str) -> st.SearchStrategy[Token]:
    """Mostly a value the command takes, sometimes something weird in its place."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), st.sampled_from(valid),
                     weird)


dates = st.one_of(whens, whens, st.sampled_from(
    ["thursday 19:30", "yesterday 19:00", "2027-03-28 02:30", "03/04 19:00", "flurb"]), weird)
# What each command takes, slot by slot; None in a slot: leave it out. A command the table
# gains gets random tokens (below) until it has a shape here.
SHAPES: dict[str, list[st.SearchStrategy[Token | None]]] = {
    "setup": [slot("SMC", "\u200b"), slot("Den Bosch"),
              slot("Europe/Amsterdam", "America/Havana", "Mars/Olympus", "Europe"),
              slot("en", "nl", "fr")],
    "newmeetup": [slot("Tweetup", "Borrel /cancel@irlbot"), dates,
                  st.one_of(st.none(), dates), st.one_of(st.none(), slot("Venue", "max 2")),
                  st.one_of(st.none(), slot("max 1", "max 2", "max 3", "max 0"))],
    "poll": [slot("Q?"), slot("a | b", "a | b | c", "a", "a | a")],
    "rsvp": [slot("yes", "yes", "no", "maybe", "ja", "nee"),
             st.one_of(st.none(), slot("+1", "+2", "+3", "+11"))],
    "vote": [slot("1", "2", "3", "1 2", "0")],
    "recurring": [slot("first thursday 19:30", "every friday 20:00", "last sunday 02:30",
                       "every 2 weeks thursday 19:30", "off"),
                  st.one_of(st.none(), slot("Club")), st.one_of(st.none(), slot("max 2"))],
    "remind": [slot("1d 2h", "off", "30m", "2d3h30m", "99d")],
    "intro": [slot("I make podcasts", "hi /cancel@irlbot", "<b>me</b>")],
    "language": [slot("nl", "en")],
    "ics": [st.one_of(st.none(), slot("all"))],
    "link": [st.one_of(st.none(), slot("ABCD1234"))],
}
tokens: st.SearchStrategy[Token] = st.one_of(weird, st.sampled_from(["yes", "1", "max 2", "off"]),
                                             whens)


@st.composite
def arguments(draw: st.DrawFn, name: str) -> list[Token]:
    shape = SHAPES.get(name)
    if shape is not None and draw(st.integers(0, 3)):
        parts = [draw(part) for part in shape]
        if name == "newmeetup" and parts[2] is not None:  # two dates: a date poll
            parts[1:3] = [parts[1], " | ", parts[2]]
        return [p for p in parts if p is not None]
    return draw(st.lists(tokens, max_size=4))


NAMES = [*sorted(COMMANDS), "frobnicate"]
# Commands meant for a private chat (their /help line says so) are mostly sent in one.
IN_A_DM = {name for name, spec in COMMANDS.items() if spec.help.startswith("(in a DM)")}


@dataclass(frozen=True)
class Step:
    who: str
    where: str  # a group, or "dm"
    name: str
    prefix: str  # "/" or "!"
    addressed: bool  # "/name@irlbot"
    args: list[Token]
    separator: str
    wait: timedelta

    def text(self, chat: Chat) -> str:
        words: list[str] = []
        for part in self.args:
            words.append(part.typed(chat) if isinstance(part, When) else part)
        args, glued = "", False
        for word in words:
            if word == " | ":  # one more date for the poll
                args, glued = args + word, True
                continue
            args += word if glued or not args else self.separator + word
            glued = False
        name = self.prefix + self.name + ("@irlbot" if self.addressed else "")
        return f"{name} {args}" if args else name


@st.composite
def steps(draw: st.DrawFn) -> Step:
    name = draw(st.sampled_from(NAMES))
    places = (("dm",) * 4 + GROUPS[:1]) if name in IN_A_DM else (*GROUPS, *GROUPS, "dm")
    return Step(
        who=draw(st.sampled_from((*ADMINS, *ADMINS, *MEMBERS))),
        where=draw(st.sampled_from(places)),
        name=name,
        prefix=draw(st.sampled_from(("/", "/", "!"))),
        addressed=draw(st.booleans()),
        args=draw(arguments(name)),
        separator=draw(st.sampled_from(("; ", "; ", " ", ";", " | "))),
        wait=draw(st.sampled_from((timedelta(0),) * 24 + (
            timedelta(minutes=5), timedelta(hours=1), timedelta(hours=7), timedelta(days=1),
            timedelta(days=3), timedelta(days=9)))),
    )


# --- the world: one database, one core -----------------------------------------------------------

class Errors(logging.Handler):
    """Whatever the bot logs as an error: an unhandled exception somewhere."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


FAILED = {gettext(lang, SOMETHING_WENT_WRONG) for lang in SUPPORTED_LANGUAGES}

# Each query names what went wrong in the rows it finds; one statement checks them all.
INVARIANTS = " UNION ALL ".join(f"SELECT '{what}', ({query}) AS row_id" for what, query in {
    "seats taken exceed the maximum": """
        SELECT m.id FROM meetups m JOIN rsvps r ON r.meetup_id = m.id
        WHERE m.capacity IS NOT NULL AND r.status = 'yes'
        GROUP BY m.id, m.capacity HAVING SUM(1 + r.guests) > m.capacity LIMIT 1""",
    "a waitlisted answer without a place in the line": """
        SELECT id FROM rsvps WHERE (status = 'waitlist') <> (waitlist_seq IS NOT NULL)
        LIMIT 1""",
    "two waitlisted answers share a place (positions would have a gap)": """
        SELECT meetup_id FROM rsvps WHERE status = 'waitlist'
        GROUP BY meetup_id, waitlist_seq HAVING COUNT(*) > 1 LIMIT 1""",
    "a reminder waits for someone who is not a yes": """
        SELECT rem.id FROM reminders rem
        LEFT JOIN rsvps r ON r.meetup_id = rem.meetup_id AND r.person_id = rem.person_id
        WHERE rem.kind = 'person' AND rem.status IN ('pending', 'queued')
          AND (r.id IS NULL OR r.status <> 'yes') LIMIT 1""",
    "two open polls in one chapter": """
        SELECT chapter_id FROM polls WHERE closed_at IS NULL
        GROUP BY chapter_id HAVING COUNT(*) > 1 LIMIT 1""",
}.items())


def fast_sqlite(dbapi_connection: Any, _record: object) -> None:
    """A test database needs no fsync: a crash of the test loses nothing worth keeping."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.clock = VirtualClock(START)
        self.messenger = RecordingMessenger()
        # The per-member limit (tests/core/test_command_limit.py) would silence a story that
        # repeats a command, and its memory outlives the emptied tables between stories.
        self.core = Core(db, {self.messenger.platform: self.messenger}, self.clock,
                         CoreSettings(commands_per_minute=0))
        self.chats = {g: Chat(self.core, self.messenger, self.clock, g, ADMINS) for g in GROUPS}
        self.commands = 0

    async def reset(self) -> None:
        """Empty every table and set up the two chapters again; the clock starts over."""
        async with self.db.transaction() as s:
            for table in reversed(Base.metadata.sorted_tables):
                await s.execute(delete(table))
        self.clock.set(START)
        self.messenger.take()
        self.messenger.started.clear()
        for n, chat in enumerate(self.chats.values()):
            await chat.say("alice", f"/setup SMC {n}; Den Bosch; Europe/Amsterdam; en")
        # Something to act on from the first step: a date poll open in one chapter, a
        # meetup with two seats in the other.
        g1, g2 = self.chats.values()
        days = [When(d, 0).typed(g1) for d in (5, 6)]
        await g1.say("alice", f"/newmeetup Tweetup; {days[0]} | {days[1]}; max 3")
        await g2.say("alice", f"/newmeetup Borrel; {When(2, 0).typed(g2)}; Venue; max 2")
        self.messenger.take()

    async def play(self, story: list[Step]) -> None:
        await self.reset()
        for at, step in enumerate(story):
            chat = self.chats[GROUPS[0] if step.where == "dm" else step.where]
            typed = step.text(chat)
            where = f"dm-{step.who}" if step.where == "dm" else step.where
            if step.where == "dm":
                out = await chat.dm(step.who, typed)
            else:
                out = await chat.say(step.who, typed)
            self.commands += 1
            context = f"step {at}: {step.who} in {where}: {typed!r}"
            answered = [s for s in out if s.to == where and s.kind in ("text", "file", "poll")]
            assert answered, f"no answer to {context}; sent: {summary(out)}"
            assert not [s for s in out if s.text in FAILED], f"{context} failed: {summary(out)}"
            if step.wait:
                await chat.advance(step.wait)
            await self.check(context)
            self.messenger.take()

    async def check(self, context: str) -> None:
        async with self.db.engine.connect() as conn:
            broken = [tuple(r) for r in await conn.execute(text(INVARIANTS)) if r[1] is not None]
        assert not broken, f"after {context}: {broken}"


def summary(out: list[Sent]) -> list[tuple[str, str, str]]:
    return [(s.kind, s.to, s.text[:120]) for s in out]


@pytest.fixture
def errors() -> Iterator[Errors]:
    handler = Errors()
    logger = logging.getLogger("bot")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.mark.long
def test_ten_thousand_random_commands_break_nothing(tmp_path: Path, errors: Errors) -> None:
    with asyncio.Runner() as runner:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'irl.db'}")
        event.listen(db.engine.sync_engine, "connect", fast_sqlite)
        runner.run(db.migrate())
        world = World(db)

        @settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(steps(), min_size=STEPS, max_size=STEPS))
        def story(told: list[Step]) -> None:
            errors.records.clear()
            runner.run(world.play(told))
            assert not errors.records, [
                (r.getMessage(), r.exc_text or logging.Formatter().formatException(r.exc_info)
                 if r.exc_info else "") for r in errors.records]

        try:
            story()
        finally:
            runner.run(db.dispose())
    assert world.commands >= EXAMPLES * STEPS
