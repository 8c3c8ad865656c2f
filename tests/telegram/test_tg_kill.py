"""`irlbot run` killed with SIGKILL while a group's commands wait for their answers (issue 8,
"Must show"): Telegram has confirmed them all, so only the inbox still has them.

25 members send /next in one group within 2 s. Telegram allows 20 messages a minute in a
group (and the bot one a second in a chat), so most answers wait. The process is killed
after the first answers and started again on the same SQLite file: every command is
handled once, and answered once (an answer in flight at the kill is in the outbox, and goes out
after the restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import HandledMessage, InboxUpdate, Interest
from bot.db.session import Database
from tests.telegram.fake_bot_api import FakeBotAPI, FakeLimits
from tests.telegram.tg_support import ROOT, bot_process_env

COMMANDS = 25


async def start_bot(config: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config),
            stdout=out, stderr=asyncio.subprocess.STDOUT, env=bot_process_env(), cwd=ROOT)


@pytest.mark.long
async def test_25_commands_queued_behind_the_group_limit_survive_a_sigkill(
        tmp_path: Path) -> None:
    db_file = tmp_path / "irl.db"
    config = tmp_path / "config.toml"
    log = tmp_path / "irlbot.log"
    async with FakeBotAPI(limits=FakeLimits()) as fake:  # Telegram's own limits
        config.write_text(f"""
[database]
url = "sqlite+aiosqlite:///{db_file}"
[bot]
send_lease_seconds = 2
[telegram]
token = "{fake.token}"
base_url = "{fake.base_url}"
""")
        alice = fake.add_user("Alice", started=True)
        members = [fake.add_user(f"M{n:02d}") for n in range(1, COMMANDS + 1)]
        group = fake.add_group("SMC Den Bosch", members=members, admins=[alice])

        def answered(member_name: str) -> int:
            return sum(t.startswith(f"{member_name}, you'll get a DM") for t in fake.texts(group))

        def answers() -> int:
            return sum(answered(m.first_name) for m in members)

        proc = await start_bot(config, log)
        try:
            fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
            await fake.wait_for(lambda: len(fake.texts(group)) == 1, within=30,
                                what="the /setup answer")
            started = fake.clock()
            sent = [fake.user_sends(m, group, "/next") for m in members]
            assert fake.clock() - started < 2
            await fake.wait_for(lambda: answers() >= 3, within=30, what="the first answers")
            # Half-way to the chat's next message: the next command is committed and its
            # answer waits for its turn (the worst moment for a crash).
            await asyncio.sleep(0.5)
            assert fake.pending_updates == 0  # Telegram has them confirmed: it won't resend
        finally:
            proc.kill()
            await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        before_restart = {m.first_name for m in members if answered(m.first_name)}
        assert 3 <= len(before_restart) < COMMANDS

        proc = await start_bot(config, log)
        try:
            # The last ones wait for the group's minute to pass. A row is marked handled
            # once its answer went out, so then everything that will be sent was sent.
            await fake.wait_for(lambda: all_handled(db_file, 1 + COMMANDS), within=150,
                                what="every command handled after the restart")
            # The answer in flight at the kill is in the outbox: sent once its lease is over.
            await fake.wait_for(lambda: answers() >= COMMANDS, within=90,
                                what="every answer after the restart")
            await asyncio.sleep(3)  # anything sent twice would show up by now
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 60)
        output = log.read_text()
        assert proc.returncode == 0, output[-3000:]

    db = Database(f"sqlite+aiosqlite:///{db_file}")
    try:
        async with db.transaction() as s:
            handled = set((await s.scalars(select(HandledMessage.message_id).where(
                HandledMessage.chat_id == str(group.id)))).all())
            interested = len((await s.scalars(select(Interest.id))).all())
            unhandled = (await s.scalars(select(InboxUpdate.update_id).where(
                InboxUpdate.handled_at.is_(None)))).all()
    finally:
        await db.dispose()
    # Every command was handled (once: handled ids are unique), none is left in the inbox.
    assert {str(m["message_id"]) for m in sent if m} <= handled
    assert interested == COMMANDS and unhandled == []
    # None answered twice, and Telegram's limits were kept across the restart.
    assert all(answered(m.first_name) <= 1 for m in members)
    assert fake.violations == []
    assert [m.first_name for m in members if not answered(m.first_name)] == []


def all_handled(db_file: Path, updates: int) -> bool:
    """All `updates` are in the inbox, and handled (read beside the running bot)."""
    try:
        with contextlib.closing(sqlite3.connect(db_file, timeout=0.2)) as conn:
            stored, handled = conn.execute("SELECT count(*), count(handled_at) FROM inbox").fetchone()
    except sqlite3.OperationalError:  # the bot is writing
        return False
    return bool(stored >= updates and stored == handled)
