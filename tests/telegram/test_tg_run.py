"""`irlbot run` on Telegram as an operator starts it: it serves a group, stops, and resumes after a restart.

The composition root wires config, database, scheduler and the Telegram adapter, serves a group
through the fake Bot API, stops cleanly on SIGTERM, and picks up where it was after a restart.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_support import ROOT, bot_process_env


async def start_bot(config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=bot_process_env(), cwd=ROOT)


async def stop_bot(proc: asyncio.subprocess.Process) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_irlbot_run_serves_a_group_and_survives_a_restart(
        fake: FakeBotAPI, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[database]
url = "sqlite+aiosqlite:///{tmp_path / 'irl.db'}"
[telegram]
token = "{fake.token}"
base_url = "{fake.base_url}"
""")
    alice = fake.add_user("Alice", started=True)
    bob = fake.add_user("Bob")
    group = fake.add_group("SMC Den Bosch", members=[bob], admins=[alice])
    when = (datetime.now(ZoneInfo("Europe/Amsterdam")) + timedelta(days=3)).strftime(
        "%Y-%m-%d %H:%M")

    proc = await start_bot(config)
    try:
        fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
        await fake.wait_for(lambda: any("now the chapter" in t for t in fake.texts(group)),
                            within=30, what="the /setup answer")
        fake.user_sends(alice, group, f"/newmeetup Borrel; {when}; Café de Unie")
        await fake.wait_for(lambda: any("New meetup!" in t for t in fake.texts(group)),
                            within=30, what="the announcement")
    finally:
        await stop_bot(proc)

    proc = await start_bot(config)  # a new process on the same database
    try:
        fake.user_sends(bob, group, "/rsvp yes")
        await fake.wait_for(lambda: any("Bob is going to Borrel" in t for t in fake.texts(group)),
                            within=30, what="the /rsvp answer after the restart")
        assert sum("now the chapter" in t for t in fake.texts(group)) == 1  # nothing answered twice
    finally:
        log = await stop_bot(proc)
    assert "Traceback" not in log
