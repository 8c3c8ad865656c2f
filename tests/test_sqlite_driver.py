"""SQLite statements make one trip to aiosqlite's thread (bot/db/sqlite_driver.py), and
behave as through SQLAlchemy's own adapter: rows, RETURNING, rowcounts, executemany, errors,
rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

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


async def test_each_statement_is_one_trip_with_its_rows(database: Database,
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
    assert statements == ["_run"] * 4  # one trip each, no cursor made or closed apart


async def test_errors_and_rollback_are_sqlalchemys(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (id, v) VALUES (1, 'a')"))
    with pytest.raises(IntegrityError):
        async with database.transaction() as s:
            await s.execute(text("INSERT INTO t (id, v) VALUES (2, 'b')"))
            await s.execute(text("INSERT INTO t (id, v) VALUES (1, 'again')"))
    async with database.transaction() as s:
        assert (await s.execute(text("SELECT id, v FROM t"))).all() == [(1, "a")]
