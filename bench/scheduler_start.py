"""How long the bot takes to rebuild its schedule at start with many pending reminders.

    .venv/bin/python bench/scheduler_start.py [--rows 100000] [--db URL]

Fills a fresh database with N pending reminders, then times what a restart does: build the
core and the scheduler, wake once (nothing is due yet), and arm the one job.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.clock import VirtualClock
from bot.core.app import Core
from bot.db.models import Chapter, Meetup, Reminder
from bot.db.session import Database
from bot.schedule import Wakeups


class NullMessenger:
    platform = "null"


async def main(rows: int, url: str | None) -> None:
    if url is None:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    db = Database(url)
    await db.migrate()
    async with db.transaction() as s:
        chapter = Chapter(name="Bench", city="X", timezone="UTC", language="en", created_at=now)
        s.add(chapter)
        await s.flush()
        meetup = Meetup(
            chapter_id=chapter.id,
            title="B",
            status="scheduled",
            created_at=now,
            starts_at=now + timedelta(days=60),
        )
        s.add(meetup)
        await s.flush()
        batch = [
            {
                "meetup_id": meetup.id,
                "person_id": None,
                "kind": "group",
                "offset_minutes": i,
                "due_at": now + timedelta(days=1, seconds=i),
                "status": "pending",
            }
            for i in range(rows)
        ]
        for start in range(0, rows, 10_000):
            await s.execute(insert(Reminder), batch[start : start + 10_000])
    await db.dispose()

    began = time.perf_counter()
    db = Database(url)
    await db.migrate()
    clock = VirtualClock(now)
    wakeups = Wakeups(clock)
    core = Core(db, {"null": NullMessenger()}, clock,  # type: ignore[dict-item]
                due_changed=wakeups.notify)
    wakeups.bind(core)
    await wakeups.start()
    took = time.perf_counter() - began
    jobs = len(wakeups.scheduler.get_jobs())
    await wakeups.stop()
    await db.dispose()
    print(
        f"{rows} pending reminders on {db.dialect}: start (migrate check + schedule rebuilt) "
        f"in {took:.3f} s, {jobs} scheduler jobs, armed for {wakeups.armed_for}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.db))
