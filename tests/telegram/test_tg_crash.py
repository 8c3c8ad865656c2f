"""`irlbot run` killed with SIGKILL at a chosen moment, then started again on the same database:
nothing the bot owed is lost, and only the rows that were in flight can go out twice.

Real processes, the fake Bot API with Telegram's documented flood limits (unscaled), SQLite and
PostgreSQL. The kill moment is deterministic: the fake holds one request (`FakeBotAPI.hold`)
and the test kills the bot while it waits for the answer. The outbox's send lease is 2 s here,
so a restarted bot takes over the dead one's rows quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text, update

from bot.db.models import Reminder
from bot.db.session import Database
from tests.telegram.fake_bot_api import BotMessage, FakeBotAPI, FakeChat, FakeLimits, FakeUser
from tests.telegram.fake_bot_api.model import RequestRecord
from tests.telegram.tg_support import BotProcess

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2
SEND_CHUNK = 10  # CoreSettings.send_chunk: rows sent between two records of what went out
TZ = ZoneInfo("Europe/Amsterdam")


# ---------------------------------------------------------------------------- the process


async def wait_for_group_budget(fake: FakeBotAPI, group: FakeChat, room: int = 3) -> None:
    """Until the group could take `room` more messages within Telegram's 20 a minute."""
    await asyncio.sleep(6)  # edits of the announcement still coming (one per 5 s at most)
    sent = [r.at for r in fake.requests if r.chat_id == group.id and r.status == 200]
    if len(sent) > 20 - room:
        wait = sent[-(20 - room)] + 60.5 - fake.clock()
        if wait > 0:
            await asyncio.sleep(wait)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    """The fake with Telegram's documented limits, unscaled: 30 a second overall, one a
    second in a chat (bursts of three), 20 a minute in a group."""
    async with FakeBotAPI(limits=FakeLimits()) as api:
        yield api


@pytest.fixture
async def bot(fake: FakeBotAPI, db_url: str, tmp_path: Path) -> AsyncIterator[BotProcess]:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[database]
url = "{db_url}"
[bot]
send_lease_seconds = {LEASE_SECONDS}
reminder_offsets = ["24h"]
reminder_grace = "1h"
[telegram]
token = "{fake.token}"
base_url = "{fake.base_url}"
""")
    process = BotProcess(config, tmp_path / "irlbot.log")
    try:
        yield process
    finally:
        await process.stop()
        print("---- irlbot output (tail)\n" + process.output()[-6000:])  # shown on failure


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """The bot's database, as the test looks into it (the bot migrates it at start)."""
    database = Database(db_url)
    yield database
    await database.dispose()


# ---------------------------------------------------------------------------- helpers


async def rows(database: Database, sql: str, **params: object) -> list[Any]:
    async with database.transaction() as s:
        return list((await s.execute(text(sql), params)).all())


async def scalar(database: Database, sql: str, **params: object) -> Any:
    found = await rows(database, sql, **params)
    return found[0][0] if found else None


async def wait_until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.1)


async def outbox(database: Database) -> list[Any]:
    return await rows(database, "SELECT id, kind, status, claimed_until FROM outbox ORDER BY id")


async def outbox_drained(database: Database) -> bool:
    return await scalar(database, "SELECT count(*) FROM outbox WHERE status = 'pending'") == 0


def print_outbox(title: str, found: list[Any]) -> None:
    by_state = Counter((kind, status, claimed is not None) for _id, kind, status, claimed in found)
    print(f"---- outbox {title}: {len(found)} rows; (kind, status, claimed) -> rows:")
    for (kind, status, claimed), n in sorted(by_state.items()):
        print(f"     {kind:<10} {status:<8} claimed={claimed!s:<5} {n}")
    pending = [tuple(row) for row in found if row[2] == "pending"]
    if pending:
        print(f"     pending: ids {pending[0][0]}..{pending[-1][0]}, claimed_until "
              f"{sorted({str(row[3]) for row in pending})}")


def print_requests(fake: FakeBotAPI, around: RequestRecord, before: int = 8) -> None:
    at = fake.requests.index(around)
    print("---- Bot API requests around the kill (method, chat_id, status; 0 = never answered):")
    for r in fake.requests[max(0, at - before):]:
        if r.method.lower() != "getupdates":
            print(f"     {r.at:.3f} {r.method} {r.params.get('chat_id')} {r.status} "
                  f"{str(r.params.get('text', ''))[:40]!r}")


def when(days: int) -> str:
    return (datetime.now(TZ) + timedelta(days=days)).strftime("%Y-%m-%d 19:30")


def private_texts(fake: FakeBotAPI, user: FakeUser, needle: str) -> list[str]:
    return [m.text for m in fake.bot_messages(user.id) if needle in m.text]


async def set_up_chapter(fake: FakeBotAPI, organiser: FakeUser, group: FakeChat) -> None:
    fake.user_sends(organiser, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await fake.wait_for(lambda: any("now the chapter" in t for t in fake.texts(group)),
                        within=30, what="the /setup answer")


async def new_meetup(fake: FakeBotAPI, organiser: FakeUser, group: FakeChat) -> BotMessage:
    fake.user_sends(organiser, group, f"/newmeetup Borrel; {when(3)}; Café de Unie")
    await fake.wait_for(lambda: any("New meetup!" in t for t in fake.texts(group)),
                        within=30, what="the announcement")
    return next(m for m in fake.bot_messages(group) if "New meetup!" in m.text)


def sent_to_private_chat(r: RequestRecord, needle: str) -> bool:
    return (r.method.lower() == "sendmessage" and int(r.params.get("chat_id") or 0) > 0
            and needle in str(r.params.get("text", "")))


# ---------------------------------------------------------------------------- the tests


async def test_cancel_fan_out_killed_a_quarter_in_reaches_everyone(
        fake: FakeBotAPI, bot: BotProcess, database: Database) -> None:
    """60 members said yes; /cancel; SIGKILL once 15 of the 60 DMs are out (the 15th posted,
    its answer never reaching the bot); restart. All 60 get the DM; only rows sent but not yet
    recorded (at most one chunk) go out twice."""
    members_n, cancelled = 60, "is cancelled"
    alice = fake.add_user("Alice", started=True, language_code="en")
    members = [fake.add_user(f"Member{i:02d}", started=True, language_code="en")
               for i in range(members_n)]
    group = fake.add_group("SMC Den Bosch", members=members, admins=[alice])

    await bot.start()
    await set_up_chapter(fake, alice, group)
    announcement = await new_meetup(fake, alice, group)
    for member in members:
        fake.press(member, announcement, "✅ Going")
    await wait_until(lambda: _count_yes(database, members_n), 40, "60 members saying yes")

    # /cancel asks first. Its question is one more message in the group: wait until the
    # group's 20-a-minute budget has room again, so the post that opens the fan-out's first
    # chunk is not held back by it (what this test is about is the kill, not the limit).
    fake.user_sends(alice, group, "/cancel")
    await fake.wait_for(lambda: any(t.startswith("Cancel Borrel?") for t in fake.texts(group)),
                        within=30, what="the question")
    await wait_for_group_budget(fake, group)
    hold = fake.hold(lambda r: sent_to_private_chat(r, cancelled), nth=members_n // 4, after=True)
    fake.user_sends(alice, group, "/cancel yes")
    await asyncio.wait_for(hold.reached.wait(), 30)
    await bot.kill()

    out_before = {m.id: len(private_texts(fake, m, cancelled)) for m in members}
    delivered = sum(out_before.values())
    at_kill = await outbox(database)
    recorded = sum(1 for _id, kind, status, _c in at_kill if kind == "dm" and status == "sent")
    in_flight = delivered - recorded
    assert hold.record is not None
    print_requests(fake, hold.record)
    print_outbox("at the kill", at_kill)
    print(f"---- at the kill: {delivered} of {members_n} DMs out, {recorded} recorded sent, "
          f"{in_flight} in flight")
    assert delivered == members_n // 4
    assert 0 <= in_flight <= SEND_CHUNK

    await bot.start()
    await fake.wait_for(lambda: all(private_texts(fake, m, cancelled) for m in members),
                        within=30, what="the cancellation DM for all 60 members")
    await wait_until(lambda: outbox_drained(database), 15, "the outbox to drain")
    await asyncio.sleep(0.5)

    counts = {m.first_name: len(private_texts(fake, m, cancelled)) for m in members}
    duplicates = {name: n - 1 for name, n in counts.items() if n > 1}
    print(f"---- duplicates after the restart: {sum(duplicates.values())} {duplicates}")
    assert all(n >= 1 for n in counts.values())
    assert sum(duplicates.values()) <= in_flight <= SEND_CHUNK
    # Only the rows in flight went twice: those recorded before the kill went once.
    assert fake.violations == []
    assert sum("❌ Borrel is cancelled." in t for t in fake.texts(group)) == 1


async def _count_yes(database: Database, n: int) -> bool:
    return await scalar(database, "SELECT count(*) FROM rsvps WHERE status = 'yes'") == n


async def test_poll_close_killed_between_stop_poll_and_result(
        fake: FakeBotAPI, bot: BotProcess, database: Database) -> None:
    """/closepoll; SIGKILL after Telegram stopped the poll and before the result is posted;
    restart. The result is announced once, with every vote cast in the native poll."""
    alice = fake.add_user("Alice", started=True, language_code="en")
    voters = [fake.add_user(f"Voter{i}", started=True, language_code="en") for i in range(7)]
    group = fake.add_group("SMC Den Bosch", members=voters, admins=[alice])
    choices = [0, 1, 0, 1, 0, 1, 0]  # 4 for the first date, 3 for the second

    await bot.start()
    await set_up_chapter(fake, alice, group)
    fake.user_sends(alice, group, f"/newmeetup Borrel; {when(3)} | {when(4)}; Café de Unie")
    await fake.wait_for(lambda: any(m.poll for m in fake.bot_messages(group)),
                        within=30, what="the date poll")
    poll = next(m.poll for m in fake.bot_messages(group) if m.poll)

    async def poll_filed() -> bool:  # votes on a poll the bot has not filed yet are dropped
        return await scalar(database, "SELECT count(*) FROM posted_messages "
                                      "WHERE platform_poll_id = :p", p=poll.id) == 1

    await wait_until(poll_filed, 15, "the bot to file the native poll's id")
    for voter, option in zip(voters, choices, strict=True):
        fake.vote(voter, poll, [option])

    async def votes_in() -> bool:
        return await scalar(database, "SELECT count(*) FROM votes") == len(voters)

    await wait_until(votes_in, 15, "the 7 votes in the database")

    closed = "The poll is closed"
    hold = fake.hold(lambda r: r.method.lower() == "sendmessage"
                     and int(r.params.get("chat_id") or 0) == group.id
                     and closed in str(r.params.get("text", "")))
    fake.user_sends(alice, group, "/closepoll")
    await asyncio.wait_for(hold.reached.wait(), 30)
    stops = fake.calls("stopPoll")
    assert [s.status for s in stops] == [200] and poll.is_closed
    await bot.kill()
    assert hold.record is not None
    print_requests(fake, hold.record)
    print_outbox("at the kill", await outbox(database))
    assert not any(closed in t for t in fake.texts(group))

    await bot.start()
    await fake.wait_for(lambda: any(closed in t for t in fake.texts(group)),
                        within=30, what="the poll result after the restart")
    await wait_until(lambda: outbox_drained(database), 15, "the outbox to drain")
    await asyncio.sleep(0.5)

    results = [t for t in fake.texts(group) if closed in t]
    print(f"---- result announcements: {len(results)}; stopPoll answers: "
          f"{[(s.status, s.description) for s in fake.calls('stopPoll')]}")
    print(results[0])
    assert len(results) == 1
    tallies = [int(n) for n in re.findall(r"^\d+\. .*: (\d+)$", results[0], re.MULTILINE)]
    assert tallies == poll.counts() == [4, 3]
    assert fake.violations == []


async def test_reminder_due_while_the_bot_is_down_is_sent_once_after_the_restart(
        fake: FakeBotAPI, bot: BotProcess, database: Database) -> None:
    """A reminder DM falls due while the bot is dead: the restarted bot sends it, once. One
    that is older than `reminder_grace` (1 h here) is skipped."""
    alice = fake.add_user("Alice", started=True, language_code="en")
    bob = fake.add_user("Bob", started=True, language_code="en")
    carol = fake.add_user("Carol", started=True, language_code="en")
    group = fake.add_group("SMC Den Bosch", members=[bob, carol], admins=[alice])

    await bot.start()
    await set_up_chapter(fake, alice, group)
    announcement = await new_meetup(fake, alice, group)
    fake.press(bob, announcement, "✅ Going")
    fake.press(carol, announcement, "✅ Going")

    async def reminders_pending() -> bool:
        return await scalar(database, "SELECT count(*) FROM reminders WHERE kind = 'person' "
                                      "AND status = 'pending'") == 2

    await wait_until(reminders_pending, 15, "Bob's and Carol's reminders")
    await asyncio.sleep(0.5)  # the RSVP answers are out
    dms_before = {u.id: len(fake.bot_messages(u.id)) for u in (bob, carol)}
    await bot.kill()

    # The bot was down at the reminders' due time: Bob's fell due a minute ago, Carol's two
    # hours ago (beyond the grace).
    now = datetime.now(UTC)
    person_of = {u.id: await scalar(database, "SELECT person_id FROM identities WHERE "
                                              "platform_user_id = :u", u=str(u.id))
                 for u in (bob, carol)}
    async with database.transaction() as s:
        for user, late in ((bob, timedelta(minutes=1)), (carol, timedelta(hours=2))):
            await s.execute(update(Reminder).where(Reminder.person_id == person_of[user.id])
                            .values(due_at=now - late))

    await bot.start()
    needle = "Reminder: Borrel starts in"

    def reminders_to(user: FakeUser) -> list[BotMessage]:
        return [m for m in fake.bot_messages(user.id) if needle in m.text]

    await fake.wait_for(lambda: bool(reminders_to(bob)), within=30, what="Bob's reminder")

    async def settled() -> bool:
        return await scalar(database, "SELECT count(*) FROM reminders WHERE kind = 'person' "
                                      "AND status IN ('pending', 'queued')") == 0

    await wait_until(settled, 15, "the reminders to be settled")
    await wait_until(lambda: outbox_drained(database), 15, "the outbox to drain")
    await asyncio.sleep(LEASE_SECONDS + 0.5)  # a resend would be due by now

    statuses = dict(await rows(database, "SELECT person_id, status FROM reminders "
                                         "WHERE kind = 'person'"))
    print(f"---- reminders: {statuses}; Bob got {len(reminders_to(bob))}, "
          f"Carol {len(reminders_to(carol))}")
    assert len(reminders_to(bob)) == 1
    assert reminders_to(bob)[0].document is not None  # with the meetup's .ics
    assert statuses[person_of[bob.id]] == "sent"
    assert reminders_to(carol) == []
    assert statuses[person_of[carol.id]] == "skipped"
    assert len(fake.bot_messages(bob.id)) == dms_before[bob.id] + 1
    assert len(fake.bot_messages(carol.id)) == dms_before[carol.id]


async def test_announcement_edit_killed_before_it_went_out_is_applied_after_the_restart(
        fake: FakeBotAPI, bot: BotProcess, database: Database) -> None:
    """/cancel edits the announcement ("❌ Cancelled", no buttons). The bot dies before that
    edit reached Telegram; after the restart the announcement must still show it."""
    alice = fake.add_user("Alice", started=True, language_code="en")
    bob = fake.add_user("Bob", started=True, language_code="en")
    group = fake.add_group("SMC Den Bosch", members=[bob], admins=[alice])

    await bot.start()
    await set_up_chapter(fake, alice, group)
    announcement = await new_meetup(fake, alice, group)
    fake.press(bob, announcement, "✅ Going")
    await wait_until(lambda: _count_yes(database, 1), 15, "Bob saying yes")

    cancelled = "❌ Cancelled"
    hold = fake.hold(lambda r: r.method.lower() == "editmessagetext"
                     and cancelled in str(r.params.get("text", "")))
    fake.user_sends(alice, group, "/cancel")  # asks first
    fake.user_sends(alice, group, "/cancel yes")
    await fake.wait_for(lambda: bool(private_texts(fake, bob, "is cancelled")),
                        within=30, what="the cancellation DM")
    with contextlib.suppress(AssertionError):  # a bot that records the edit once applied
        await wait_until(lambda: outbox_drained(database), 3, "the outbox to drain")
    print(f"---- every outbox row recorded sent: {await outbox_drained(database)}; the edit "
          f"request had reached Telegram then: {hold.reached.is_set()}")
    await asyncio.wait_for(hold.reached.wait(), 30)
    at_kill = await outbox(database)
    await bot.kill()
    assert hold.record is not None
    print_requests(fake, hold.record)
    print_outbox("at the kill", at_kill)
    assert cancelled not in announcement.text

    await bot.start()
    with contextlib.suppress(AssertionError):
        await fake.wait_for(lambda: cancelled in announcement.text, within=LEASE_SECONDS + 8,
                            what="the announcement to show the cancellation")
    print(f"---- announcement after the restart: {announcement.text!r}, "
          f"buttons {announcement.buttons}")
    assert announcement.text.startswith(cancelled)
    assert announcement.buttons == []
