"""SQLAlchemy's aiosqlite adapter, with statements run on the event loop's own thread.

aiosqlite runs the sqlite3 connection in a thread of its own and every call is a trip there
and back: a queue put, a thread wake-up, a future resolved through the event loop's
self-pipe. On this bot's indexed queries over a local file the trip costs far more than the
statement (about 0.1 ms of CPU a trip against microseconds of SQLite work; profiled in the
Matrix peer benchmark, the trips were a third of the bot's CPU). So:

* a statement (execute, executemany, rows fetched at once) runs on the loop's thread;
* a COMMIT, which waits for the disk (`synchronous=FULL`: one fsync of the write-ahead log),
  goes to aiosqlite's thread, so the loop doesn't wait for the disk; a unit of work that
  wrote nothing commits without a trip;
* a ROLLBACK runs on the loop's thread (it drops pages in memory; no fsync);
* SQLite's own busy handler would sleep inside the call, on the loop's thread, while the
  writer it waits for may be a coroutine of this same loop; so the connections wait for no
  lock (`busy_timeout=0`) and a statement that finds the database locked (SQLITE_BUSY) is
  tried again after an asynchronous pause, up to `BUSY_WAIT` seconds in all, as the busy
  timeout did. A snapshot that went stale (SQLITE_BUSY_SNAPSHOT) fails at once, as before.

Everything else (the connection, errors, termination) is SQLAlchemy's adapter unchanged; like
that adapter, it reaches aiosqlite's connection through `_conn`, `_connection` and
`_execute`. Used by `Database` for every `sqlite+aiosqlite` URL: `create_async_engine(url,
module=sqlite_dbapi())`.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

BUSY_WAIT = 5.0  # seconds a statement waits for a lock held by another connection
FIRST_PAUSE, LONGEST_PAUSE = 0.001, 0.05

_Description = tuple[tuple[Any, ...], ...] | None
T = TypeVar("T")


def _run(conn: sqlite3.Connection, sql: str, params: Any, many: bool
         ) -> tuple[_Description, list[Any], int, int | None]:
    """The whole statement, rows included."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


# What SQLite's busy handler would wait out: a lock held by another connection, or another
# process recovering the write-ahead log after a crash (not a stale snapshot).
_WAITED_FOR = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_RECOVERY})


def _locked(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in _WAITED_FOR


async def _waiting_for_locks(step: Callable[[], Any]) -> Any:
    """`step()` (a call, or an awaitable made by the call), again after growing pauses while
    another connection holds the lock it needs, for up to BUSY_WAIT seconds."""
    loop = asyncio.get_running_loop()
    ends: float | None = None
    pause = FIRST_PAUSE
    while True:
        try:
            result = step()
            if asyncio.iscoroutine(result):
                result = await result
            return result
        except sqlite3.OperationalError as exc:
            if not _locked(exc):
                raise
            if ends is None:
                ends = loop.time() + BUSY_WAIT
            elif loop.time() >= ends:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)


class LoopThreadCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor with no aiosqlite cursor behind it: each execute runs here, whole."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: _Description = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    async def _statement(self, sql: str, params: Any, many: bool) -> None:
        conn = self._connection._conn  # raises ValueError once closed, as aiosqlite does
        async with self._adapt_connection._execute_mutex:
            description, rows, self._rowcount, self._lastrowid = await _waiting_for_locks(
                lambda: _run(conn, sql, params, many))
            self._description = description
            self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._statement(operation, () if parameters is None else parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._statement(operation, seq_of_parameters, True)


class LoopThreadConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = LoopThreadCursor  # type: ignore[assignment]  # a subclass; mypy reads it as a clash

    def _sqlite(self) -> sqlite3.Connection | None:
        return self._connection._connection  # type: ignore[no-any-return]

    def commit(self) -> None:
        conn = self._sqlite()
        if conn is None or not conn.in_transaction:
            return  # nothing written: nothing to wait for
        try:
            await_(_waiting_for_locks(self._connection.commit))
        except Exception as error:
            self._handle_exception(error)

    def rollback(self) -> None:
        conn = self._sqlite()
        if conn is None or not conn.in_transaction:
            return
        try:
            conn.rollback()
        except Exception as error:
            self._handle_exception(error)


class LoopThreadDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> LoopThreadConnection:
        # Statements run on the loop's thread, commits and the close on aiosqlite's; never two
        # at once (SQLAlchemy hands a connection to one user at a time, and each call is
        # awaited).
        kw["check_same_thread"] = False
        adapted = super().connect(*arg, **kw)
        return LoopThreadConnection(self, adapted._connection)


def sqlite_dbapi() -> LoopThreadDBAPI:
    return LoopThreadDBAPI(aiosqlite, sqlite3)
