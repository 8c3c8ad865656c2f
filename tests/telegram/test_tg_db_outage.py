"""The database goes away under a running `irlbot run` (issue 8 must-show, issue 9 item 5).

Real processes against the fake Bot API, their database URL pointing at a TCP relay in front
of PostgreSQL; cutting the relay drops every open connection (the leader's lock connection
too) and refuses new ones, like a network cut or a database restart.

- 5 s: members RSVP (/rsvp and the buttons) and vote (the native poll and /vote) before,
  during and after the cut. Afterwards the tallies are what they did (each member's last
  answer wins), every command and button press was answered, and nobody was told that
  nothing changed (or that the database can't be reached). The copy lost its lead with the
  lock connection: it did not exit, and it reads again after the cut.
- 20 s: the process stays up, does not spin (its CPU time during the outage stays small),
  logs the outage once rather than every try, and serves what was sent meanwhile afterwards.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import (
    Person,
    PollOption,
    PostedMessage,
    PostKind,
    Rsvp,
    RsvpStatus,
    Vote,
)
from bot.db.session import Database
from tests.tcp_relay import TcpRelay
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.fake_bot_api.model import BotMessage, FakeChat, FakePoll, FakeUser
from tests.telegram.tg_support import BotProcess

ON_POSTGRES = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
GROUPS = 8  # two members each: every group stays under Telegram's 20 messages a minute
FORBIDDEN = ("nothing was changed", "can't reach my database")
OPTIONS = ("Verkadefabriek", "Café de Unie")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as api:
        yield api


@pytest.fixture
async def relay(db_url: str) -> AsyncIterator[TcpRelay]:
    host_port = db_url.rsplit("@", 1)[1].split("/", 1)[0]
    cut = TcpRelay(int(host_port.rsplit(":", 1)[1]))
    await cut.start()
    yield cut
    await cut.cut()


def relayed(db_url: str, relay: TcpRelay) -> str:
    host_port = db_url.rsplit("@", 1)[1].split("/", 1)[0]
    return db_url.replace(host_port, f"127.0.0.1:{relay.port}")


def config_for(fake: FakeBotAPI, url: str, tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[database]
url = "{url}"
leader_poll_seconds = 1
[bot]
send_lease_seconds = 2
sweep_seconds = 1
[telegram]
token = "{fake.token}"
base_url = "{fake.base_url}"
""")
    return config


@dataclass
class Chapter:
    group: FakeChat
    members: list[FakeUser]
    announcement: BotMessage
    poll: FakePoll


@dataclass
class Ledger:
    """What members did, and what each of them should have been told."""

    rsvp: dict[str, str] = field(default_factory=dict)  # name -> "yes" / "no": the last answer
    vote: dict[str, int] = field(default_factory=dict)  # name -> option position: the last vote
    replies: Counter[tuple[int, str]] = field(default_factory=Counter)  # (chat id, text)
    presses: dict[str, str] = field(default_factory=dict)  # callback query id -> toast


def rsvp_line(name: str, answer: str) -> str:
    return f"{name} is going to Borrel." if answer == "yes" else f"{name} can't come to Borrel."


def answer_rsvp(fake: FakeBotAPI, ledger: Ledger, chapter: Chapter, member: FakeUser,
                answer: str, by_button: bool) -> None:
    name = member.first_name
    if by_button:
        label = "✅ Going" if answer == "yes" else "❌ Can't"
        ledger.presses[fake.press(member, chapter.announcement, label)] = rsvp_line(name, answer)
    else:
        fake.user_sends(member, chapter.group, f"/rsvp {answer}")
        ledger.replies[(chapter.group.id, rsvp_line(name, answer))] += 1
    ledger.rsvp[name] = answer


def cast_vote(fake: FakeBotAPI, ledger: Ledger, chapter: Chapter, member: FakeUser,
              option: int, natively: bool) -> None:
    if natively:
        fake.vote(member, chapter.poll, [option])
    else:
        fake.user_sends(member, chapter.group, f"/vote {option + 1}")
        ledger.replies[(chapter.group.id, f"{member.first_name} voted for {option + 1}.")] += 1
    ledger.vote[member.first_name] = option


def act(fake: FakeBotAPI, ledger: Ledger, chapters: list[Chapter], phase: int,
        actions: list[tuple[int, str, str | int]]) -> None:
    """In every chapter, its members do `actions` (member index, "rsvp" or "vote", the
    answer or option): one of them by a command, the others by a button or in the native
    poll, a different one from chapter to chapter (a group takes 20 messages a minute)."""
    for g, chapter in enumerate(chapters):
        by_command = (g + phase) % len(actions)
        for n, (j, kind, value) in enumerate(actions):
            member = chapter.members[j]
            if kind == "rsvp":
                assert isinstance(value, str)
                answer_rsvp(fake, ledger, chapter, member, value, by_button=n != by_command)
            else:
                assert isinstance(value, int)
                cast_vote(fake, ledger, chapter, member, value, natively=n != by_command)


async def tallies(db: Database) -> tuple[dict[str, str], dict[str, int]]:
    """Each member's RSVP and vote, as the database holds them (read past the relay)."""
    async with db.transaction() as s:
        rsvps = (await s.execute(select(Person.display_name, Rsvp.status)
                                 .join(Rsvp, Rsvp.person_id == Person.id))).all()
        votes = (await s.execute(select(Person.display_name, PollOption.position)
                                 .join(Vote, Vote.person_id == Person.id)
                                 .join(PollOption, PollOption.id == Vote.option_id))).all()
    return ({name: "yes" if status == RsvpStatus.YES else "no" for name, status in rsvps},
            dict(votes))


async def wait_for_tallies(db: Database, ledger: Ledger, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while True:
        got = await tallies(db)
        if got == (ledger.rsvp, ledger.vote):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: the database holds {got}, members did "
                                 f"{(ledger.rsvp, ledger.vote)}")
        await asyncio.sleep(0.3)


async def set_up(fake: FakeBotAPI, db: Database, groups: int, per_group: int) -> list[Chapter]:
    """Chapters with a meetup (RSVP buttons) and a plain native poll each."""
    alice = fake.add_user("Alice", started=True)
    chapters = []
    when = (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%d 19:30")
    for g in range(groups):
        members = [fake.add_user(f"M{g}x{i}", started=True) for i in range(per_group)]
        group = fake.add_group(f"Chapter {g}", members=members, admins=[alice])
        fake.user_sends(alice, group, f"/setup Chapter {g}; Den Bosch; Europe/Amsterdam; en")
        fake.user_sends(alice, group, f"/newmeetup Borrel; {when}")
        fake.user_sends(alice, group, f"/poll Which venue?; {' | '.join(OPTIONS)}")
        chapters.append(Chapter(group, members, None, None))  # type: ignore[arg-type]
    for chapter in chapters:
        def posted(c: Chapter = chapter) -> bool:
            kinds = [m for m in fake.bot_messages(c.group) if m.keyboard or m.poll]
            return len(kinds) >= 2
        await fake.wait_for(posted, within=60, what="the announcement and the poll")
        messages = fake.bot_messages(chapter.group)
        chapter.announcement = next(m for m in messages if m.keyboard)
        poll = next(m for m in messages if m.poll)
        assert poll.poll is not None
        chapter.poll = poll.poll
    # A vote counts once the poll's id is on record (recorded after it was sent).
    deadline = time.monotonic() + 30
    while True:
        async with db.transaction() as s:
            recorded = len((await s.scalars(select(PostedMessage.id).where(
                PostedMessage.kind == PostKind.POLL,
                PostedMessage.platform_poll_id.is_not(None)))).all())
        if recorded == groups:
            break
        assert time.monotonic() < deadline, "the polls were not recorded"
        await asyncio.sleep(0.2)
    return chapters


def all_answered(fake: FakeBotAPI, chapters: list[Chapter], ledger: Ledger) -> bool:
    texts = Counter((c.group.id, t) for c in chapters for t in fake.texts(c.group))
    return not ledger.replies - texts and all(fake.answer_to(q) for q in ledger.presses)


def check_replies(fake: FakeBotAPI, chapters: list[Chapter], ledger: Ledger) -> None:
    """Every command and press was answered as it should, and nobody was told that nothing
    changed or that the database can't be reached."""
    texts = Counter((c.group.id, t) for c in chapters for t in fake.texts(c.group))
    missing = ledger.replies - texts
    assert not missing, f"answers never sent: {missing}"
    everything = [t for c in chapters for t in fake.texts(c.group)]
    everything += [t for user in fake.users.values() for t in fake.texts(user.id)]
    everything += [a.text for a in fake.callback_answers]
    assert [t for t in everything if any(f in t for f in FORBIDDEN)] == []
    for query_id, toast in ledger.presses.items():
        answer = fake.answer_to(query_id)
        assert answer is not None, f"press {query_id} ({toast}) was never answered"
        assert answer.text == toast


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@ON_POSTGRES
async def test_five_seconds_without_the_database_lose_no_vote_and_no_answer(
        fake: FakeBotAPI, db_url: str, relay: TcpRelay, tmp_path: Path) -> None:
    bot = BotProcess(config_for(fake, relayed(db_url, relay), tmp_path), tmp_path / "bot.log")
    db = Database(db_url)
    ledger = Ledger()
    try:
        await bot.start()
        chapters = await set_up(fake, db, GROUPS, 2)

        # Before: every member answers and votes.
        act(fake, ledger, chapters, 0, [(0, "rsvp", "yes"), (1, "rsvp", "yes"),
                                        (0, "vote", 0), (1, "vote", 1)])
        await wait_for_tallies(db, ledger, 60, "before the cut")

        # At the cut: one member of each chapter answers again, the other votes again; a
        # moment later the database is gone, with some of it in hand.
        act(fake, ledger, chapters, 1, [(0, "rsvp", "no"), (1, "vote", 0)])
        await asyncio.sleep(0.1)
        await relay.cut()
        cut_at = time.monotonic()
        await asyncio.sleep(1)
        # During the cut: each does the other.
        act(fake, ledger, chapters, 2, [(0, "vote", 1), (1, "rsvp", "no")])
        await asyncio.sleep(5 - (time.monotonic() - cut_at))
        assert bot.proc is not None and bot.proc.returncode is None, bot.output()[-3000:]
        await relay.start()
        back_at = time.monotonic()
        await wait_for_tallies(db, ledger, 60, "after the cut")
        print(f"from the database's return to the tallies being right: "
              f"{time.monotonic() - back_at:.1f} s")

        # After: the copy reads again; everyone changes their mind once more.
        act(fake, ledger, chapters, 3, [(0, "rsvp", "yes"), (1, "rsvp", "no"),
                                        (0, "vote", 0), (1, "vote", 1)])
        await wait_for_tallies(db, ledger, 60, "after the cut, new answers")
        # The last answers and toasts leave after the commit (a group's edits and answers
        # may wait for its 20 messages a minute).
        await fake.wait_for(lambda: all_answered(fake, chapters, ledger), within=90,
                            what="every answer and toast")
        check_replies(fake, chapters, ledger)
        assert bot.proc.returncode is None  # it never exited
        output = bot.output()
        assert "lost the database connection that holds the lead" in output
        assert output.count("leading telegram:") == 2, output[-3000:]
        assert "database reachable again" in output
        assert [r for r in fake.calls("getUpdates") if r.status == 409] == []
    finally:
        await db.dispose()
        await bot.stop()
        print("---- bot\n" + bot.output()[-4000:])
    assert bot.proc.returncode == 0


@pytest.mark.long
@ON_POSTGRES
async def test_twenty_seconds_without_the_database_the_bot_waits_without_spinning(
        fake: FakeBotAPI, db_url: str, relay: TcpRelay, tmp_path: Path) -> None:
    bot = BotProcess(config_for(fake, relayed(db_url, relay), tmp_path), tmp_path / "bot.log")
    db = Database(db_url)
    ledger = Ledger()
    try:
        await bot.start()
        [chapter] = await set_up(fake, db, 1, 2)
        first, second = chapter.members
        answer_rsvp(fake, ledger, chapter, first, "yes", by_button=False)
        await wait_for_tallies(db, ledger, 30, "before the outage")
        assert bot.proc is not None
        await asyncio.sleep(1)  # the answer's edits and sends settle

        log_lines = len(bot.output().splitlines())
        await relay.cut()
        await asyncio.sleep(3)  # the copy notices: its lead is lost
        cpu_before = cpu_seconds(bot.proc.pid)
        answer_rsvp(fake, ledger, chapter, second, "yes", by_button=False)  # waits at Telegram
        cast_vote(fake, ledger, chapter, first, 1, natively=True)
        await asyncio.sleep(17)
        cpu = cpu_seconds(bot.proc.pid) - cpu_before
        assert bot.proc.returncode is None, bot.output()[-3000:]
        during = bot.output().splitlines()[log_lines:]
        print(f"20 s without the database: {cpu:.2f} s of CPU, {len(during)} log lines")
        await relay.start()
        back_at = time.monotonic()
        await wait_for_tallies(db, ledger, 60, "after the outage")
        await fake.wait_for(lambda: all_answered(fake, [chapter], ledger), within=60,
                            what="every answer")
        print(f"from the database's return to the tallies being right: "
              f"{time.monotonic() - back_at:.1f} s")
        check_replies(fake, [chapter], ledger)
        assert cpu < 2.0  # a busy loop would burn most of the 17 s
        # Each state change said once, not at every try.
        text = "\n".join(during)
        assert text.count("lost the database connection that holds the lead") == 1, text
        assert text.count("database unreachable") == 1, text
        assert text.count("can't reach the database to lead") == 1, text
        assert len(during) < 20, text
        assert "database reachable again" in bot.output()
        assert bot.output().count("leading telegram:") == 2
    finally:
        await db.dispose()
        await bot.stop()
        print("---- bot\n" + bot.output()[-4000:])
    assert bot.proc.returncode == 0


@ON_POSTGRES
async def test_a_bot_started_while_the_database_is_away_waits_for_it(
        fake: FakeBotAPI, db_url: str, relay: TcpRelay, tmp_path: Path) -> None:
    bot = BotProcess(config_for(fake, relayed(db_url, relay), tmp_path), tmp_path / "bot.log")
    alice = fake.add_user("Alice", started=True)
    group = fake.add_group("SMC Den Bosch", admins=[alice])
    await relay.cut()
    try:
        await bot.start()
        fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
        await fake.wait_for(lambda: "database unreachable" in bot.output(), within=60,
                            what="the bot noticing the database is away")
        await asyncio.sleep(5)  # tries again after 1, 2 (and 4) s
        assert bot.proc is not None and bot.proc.returncode is None, bot.output()[-3000:]
        assert bot.output().count("database unreachable") == 1
        await relay.start()
        await fake.wait_for(lambda: any("now the chapter" in t for t in fake.texts(group)),
                            within=30, what="the answer once the database is there")
    finally:
        await bot.stop()
        print("---- bot\n" + bot.output()[-3000:])
    assert bot.proc.returncode == 0
