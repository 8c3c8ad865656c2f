"""One reader per platform account: a second copy waits while the first leads, takes over
when the first dies, and a second copy on one SQLite file is refused with a clear line."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.db.session import Database
from bot.leadership import Leadership, NotAlone

ON_POSTGRES = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


@ON_POSTGRES
async def test_the_second_copy_waits_and_takes_over_when_the_first_dies(db_url: str) -> None:
    first_db, second_db = Database(db_url), Database(db_url)
    first = Leadership(first_db, ["telegram:1", "matrix:@bot:x"], poll=0.2, check_every=0.2)
    second = Leadership(second_db, ["matrix:@bot:x", "telegram:1"], poll=0.2)
    try:
        await first.acquire()
        lost = asyncio.Event()
        first.watch(lost.set)
        waiting = asyncio.create_task(second.acquire())
        await asyncio.sleep(1)
        assert not waiting.done()  # the first leads
        async with second_db.transaction() as s:  # the first copy's connection dies
            await s.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"))
        await asyncio.wait_for(waiting, 5)  # the second took over
        await asyncio.wait_for(lost.wait(), 5)  # and the first knows it no longer leads
    finally:
        await first.release()
        await second.release()
        await first_db.dispose()
        await second_db.dispose()


@ON_POSTGRES
async def test_a_copy_that_waits_for_one_account_holds_none_of_the_others(db_url: str) -> None:
    dbs = [Database(db_url) for _ in range(3)]
    telegram = Leadership(dbs[0], ["telegram:1"], poll=0.2)
    both = Leadership(dbs[1], ["telegram:1", "matrix:@bot:x"], poll=0.2)
    matrix = Leadership(dbs[2], ["matrix:@bot:x"], poll=0.2)
    try:
        await telegram.acquire()
        waiting = asyncio.create_task(both.acquire())
        await asyncio.sleep(0.5)
        await asyncio.wait_for(matrix.acquire(), 5)  # not blocked by the waiting copy
        assert not waiting.done()
        waiting.cancel()
    finally:
        for leadership in (telegram, both, matrix):
            await leadership.release()
        for database in dbs:
            await database.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_second_copy_on_one_sqlite_file_is_refused(db_url: str) -> None:
    first_db, second_db = Database(db_url), Database(db_url)
    first, second = Leadership(first_db, ["telegram:1"]), Leadership(second_db, ["telegram:1"])
    try:
        await first.acquire()
        with pytest.raises(NotAlone, match=r"another irlbot \(pid \d+\) runs on .*irl.db"):
            await second.acquire()
    finally:
        await first.release()
        await first_db.dispose()
        await second_db.dispose()
