"""Two copies of `irlbot run` for one Telegram bot: one polls, the other waits; when the leader is
killed the other takes over within seconds and answers what members sent in the gap. On SQLite
a second copy is refused with a line that says why.

Real processes against the project's fake Bot API, the way an operator runs two copies under a
supervisor on one PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.settings import CoreSettings
from bot.db.models import (
    Identity,
    Person,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Rsvp,
    RsvpStatus,
)
from bot.db.session import Database
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_support import BotProcess

TAKEOVER_WITHIN = 15.0  # seconds, as the issue asks


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as api:
        yield api


def config_for(fake: FakeBotAPI, db_url: str, tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[database]
url = "{db_url}"
leader_poll_seconds = 1
[bot]
send_lease_seconds = 2
sweep_seconds = 1
[telegram]
token = "{fake.token}"
base_url = "{fake.base_url}"
""")
    return config


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_the_waiting_copy_takes_over_when_the_leader_is_killed(
        fake: FakeBotAPI, db_url: str, tmp_path: Path) -> None:
    config = config_for(fake, db_url, tmp_path)
    first = BotProcess(config, tmp_path / "first.log")
    second = BotProcess(config, tmp_path / "second.log")
    alice = fake.add_user("Alice", started=True)
    bob = fake.add_user("Bob", started=True)
    group = fake.add_group("SMC Den Bosch", members=[bob], admins=[alice])
    try:
        await first.start()
        fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
        await fake.wait_for(lambda: any("now the chapter" in t for t in fake.texts(group)),
                            within=30, what="the leader's answer")
        await second.start()
        await asyncio.sleep(4)  # the second copy is up and waiting, not polling
        assert [r for r in fake.calls("getUpdates") if r.status == 409] == []
        assert "another copy leads telegram:" in second.output()

        await first.kill()
        killed_at = time.monotonic()
        fake.user_sends(bob, group, "/who")  # sent in the gap
        await fake.wait_for(lambda: any("No meetup is planned" in t for t in fake.texts(group)),
                            within=TAKEOVER_WITHIN + 15, what="the new leader's answer")
        gap = time.monotonic() - killed_at
        print(f"from the kill to the new leader's first answer: {gap:.1f} s")
        assert gap < TAKEOVER_WITHIN
        assert [r for r in fake.calls("getUpdates") if r.status == 409] == []
        assert sum("now the chapter" in t for t in fake.texts(group)) == 1
    finally:
        await second.stop()
        await first.stop()
        print("---- first\n" + first.output()[-3000:] + "\n---- second\n" + second.output()[-3000:])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_second_copy_on_one_sqlite_file_stops_with_a_clear_line(
        fake: FakeBotAPI, db_url: str, tmp_path: Path) -> None:
    config = config_for(fake, db_url, tmp_path)
    first = BotProcess(config, tmp_path / "first.log")
    second = BotProcess(config, tmp_path / "second.log")
    try:
        await first.start()
        await fake.wait_for(lambda: bool(fake.calls("getUpdates")), within=30,
                            what="the first copy polling")
        await second.start()
        assert second.proc is not None
        assert await asyncio.wait_for(second.proc.wait(), 30) == 2
        assert "another irlbot (pid " in second.output()
        assert "SQLite serves one copy" in second.output()
    finally:
        await first.stop()


REMINDED = 500


@pytest.mark.long
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_reminders_falling_due_across_a_failover_are_each_delivered_once(
        fake: FakeBotAPI, db_url: str, tmp_path: Path) -> None:
    config = config_for(fake, db_url, tmp_path)
    first = BotProcess(config, tmp_path / "first.log")
    second = BotProcess(config, tmp_path / "second.log")
    alice = fake.add_user("Alice", started=True)
    members = [fake.add_user(f"Member {i}", started=True) for i in range(REMINDED)]
    group = fake.add_group("SMC Den Bosch", members=members, admins=[alice])
    database = Database(db_url)
    try:
        await first.start()
        fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
        fake.user_sends(alice, group, "/newmeetup Borrel; 2027-06-01 19:30")
        await fake.wait_for(lambda: any("New meetup!" in t for t in fake.texts(group)),
                            within=30, what="the announcement")
        await second.start()
        # 500 members who said yes, each with a reminder falling due over the next seconds.
        due = datetime.now(UTC) + timedelta(seconds=3)
        async with database.transaction() as s:
            for i, user in enumerate(members):
                person = Person(display_name=user.first_name, created_at=due)
                s.add(person)
                await s.flush()
                s.add_all([
                    Identity(person_id=person.id, platform="telegram",
                             platform_user_id=str(user.id), display_name=user.first_name,
                             dm_started=True),
                    Rsvp(meetup_id=1, person_id=person.id, status=RsvpStatus.YES, guests=0,
                         updated_at=due),
                    Reminder(meetup_id=1, person_id=person.id, kind=ReminderKind.PERSON,
                             offset_minutes=24 * 60, status=ReminderStatus.PENDING,
                             due_at=due + timedelta(milliseconds=4 * i))])
        reminded = lambda: sum(bool(fake.bot_messages(u.id)) for u in members)  # noqa: E731
        await fake.wait_for(lambda: reminded() >= REMINDED // 4, within=60,
                            what="a quarter of the reminders")
        await first.kill()
        await fake.wait_for(lambda: reminded() == REMINDED, within=60,
                            what="every reminder, from the new leader")
        await asyncio.sleep(3)  # a lease's worth: anything sent again would be here by now
        counts = [len(fake.bot_messages(u.id)) for u in members]
        twice = sum(n > 1 for n in counts)
        print(f"{REMINDED} reminders across the failover: {twice} sent twice")
        assert min(counts) == 1
        # In flight at the kill: the reminders being queued side by side (send_concurrency).
        assert twice <= CoreSettings().send_concurrency
    finally:
        await database.dispose()
        await second.stop()
        await first.stop()
