"""SQLite through bot/db/sqlite_driver.py: statements run on the loop's thread (no trip to
aiosqlite's), a commit that has something to write is the one trip (the fsync waits there),
a lock held by another connection is waited for without stopping the loop, and everything
behaves as through SQLAlchemy's own adapter: rows, RETURNING, rowcounts, executemany,
errors, rollback."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.db import sqlite_driver
from bot.db.session import Database


@pytest.fixture
async def database(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}")
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    yield db
    await db.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    made: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return made


async def test_statements_make_no_trip_and_the_commit_one(database: Database,
                                                           trips: list[str]) -> None:
    async with database.engine.begin() as conn:
        trips.clear()
        new_id = (await conn.execute(text("INSERT INTO t (v) VALUES ('a') RETURNING id"))).scalar()
        many = await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}])
        changed = await conn.execute(text("UPDATE t SET v = 'z' WHERE v IN ('b', 'c')"))
        rows = (await conn.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
        statements = list(trips)
    assert new_id == 1
    assert many.rowcount == 2
    assert changed.rowcount == 2
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "z"), (3, "z")]
    assert statements == []
    assert trips == ["commit"]  # the fsync, off the loop's thread
    trips.clear()
    async with database.transaction() as s:  # reads only: nothing to commit, no trip
        assert (await s.execute(text("SELECT count(*) FROM t"))).scalar() == 3
    assert trips == []


async def test_what_was_committed_is_in_the_file(database: Database, tmp_path: Path) -> None:
    async with database.transaction() as s:
        await s.execute(text("INSERT INTO t (v) VALUES ('kept')"))
    other = sqlite3.connect(tmp_path / "trips.db")
    try:
        assert other.execute("SELECT v FROM t").fetchall() == [("kept",)]
    finally:
        other.close()


async def test_errors_and_rollback_are_sqlalchemys(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (id, v) VALUES (1, 'a')"))
    with pytest.raises(IntegrityError):
        async with database.transaction() as s:
            await s.execute(text("INSERT INTO t (id, v) VALUES (2, 'b')"))
            await s.execute(text("INSERT INTO t (id, v) VALUES (1, 'again')"))
    async with database.transaction() as s:
        assert (await s.execute(text("SELECT id, v FROM t"))).all() == [(1, "a")]


async def test_a_writer_waits_for_the_lock_while_the_loop_goes_on(database: Database) -> None:
    """Two units of work of one process: the second writer waits (asynchronously) until the
    first commits, and then writes; the first could only commit because the loop ran on."""
    first_wrote = asyncio.Event()
    ticks = 0

    async def first() -> None:
        async with database.transaction() as s:
            await s.execute(text("INSERT INTO t (v) VALUES ('first')"))
            first_wrote.set()
            await asyncio.sleep(0.3)  # holds the write lock meanwhile

    async def second() -> None:
        await first_wrote.wait()
        async with database.transaction() as s:
            await s.execute(text("INSERT INTO t (v) VALUES ('second')"))

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    try:
        await asyncio.gather(first(), second())
    finally:
        ticker.cancel()
    async with database.transaction() as s:
        assert (await s.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all() == [
            "first", "second"]
    assert ticks >= 10  # the loop was not held while the second waited


async def test_a_lock_held_too_long_is_database_is_locked(database: Database, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_driver, "BUSY_WAIT", 0.2)
    other = sqlite3.connect(tmp_path / "trips.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            async with database.transaction() as s:
                await s.execute(text("INSERT INTO t (v) VALUES ('late')"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    async with database.transaction() as s:
        await s.execute(text("INSERT INTO t (v) VALUES ('now')"))
        assert (await s.execute(text("SELECT v FROM t"))).scalars().all() == ["now"]
