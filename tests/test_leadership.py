"""One reader per platform account: a second copy waits while the first leads, takes over
when the first dies, and a second copy on one SQLite file is refused with a clear line."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text

from bot.db.session import Database
from bot.leadership import Leadership, NotAlone
from bot.readiness import Readiness
from tests.tcp_relay import TcpRelay

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


@ON_POSTGRES
async def test_a_leader_cut_off_from_the_database_leads_again_when_it_answers(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    host_port = db_url.rsplit("@", 1)[1].split("/", 1)[0]
    relay = TcpRelay(int(host_port.rsplit(":", 1)[1]))
    await relay.start()
    db = Database(db_url.replace(host_port, f"127.0.0.1:{relay.port}"))
    readiness = Readiness()
    leader = Leadership(db, ["telegram:1"], poll=0.2, check_every=0.2, readiness=readiness,
                        max_pause=1.0)
    try:
        await leader.acquire()
        assert readiness.ready
        lost = asyncio.create_task(leader.until_lost())
        await relay.cut()
        reason = await asyncio.wait_for(lost, 5)
        assert reason.startswith("lost the lead")
        assert not readiness.ready and readiness.reasons()[0].startswith("database: ")
        again = asyncio.create_task(leader.acquire())
        await asyncio.sleep(3)  # tries with pauses of 0.2, 0.4, 0.8, 1, 1 s: logged once
        assert not again.done()
        assert sum("can't reach the database to lead" in r.getMessage()
                   for r in caplog.records) == 1
        assert sum("database unreachable" in r.getMessage() for r in caplog.records) == 1
        await relay.start()
        await asyncio.wait_for(again, 5)
        assert readiness.ready
        assert readiness.snapshot()["parts"] == {
            "database": {"ok": True, "reason": "", "for_s": 0}}
    finally:
        await leader.release()
        await relay.cut()
        await db.dispose()


def test_readiness_logs_each_change_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "irlbot.readiness")
    now = [0.0]
    readiness = Readiness(clock=lambda: now[0])
    assert not readiness.ready and readiness.reasons() == ["database: not checked yet"]
    readiness.database_ok()
    readiness.reading("telegram")
    assert readiness.ready
    for second in range(5):
        now[0] = 10.0 + second
        readiness.database_down(OSError(111, "Connect call failed"))
        readiness.not_reading("telegram", "lost the lead")
    assert readiness.reasons() == ["database: ConnectionRefusedError: [Errno 111] Connect call failed",
                                   "telegram: lost the lead"]
    now[0] = 30.0
    readiness.database_ok()
    readiness.standby("telegram", "another copy reads telegram:1")
    assert readiness.ready
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "telegram: reading"
    assert lines[1].startswith("database unreachable (ConnectionRefusedError: ")
    assert lines[2:] == ["telegram: lost the lead", "database reachable again after 20 s",
                         "telegram: another copy reads telegram:1 after 20 s"]
