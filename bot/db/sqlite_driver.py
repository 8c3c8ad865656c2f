"""SQLAlchemy's aiosqlite adapter, with a statement in one trip to the SQLite thread.

aiosqlite runs the sqlite3 connection in a thread of its own and every call is a trip there
and back: a queue put, a thread wake-up, a future resolved through the event loop's
self-pipe. SQLAlchemy's adapter makes four of those per statement (make a cursor, execute,
fetch the rows, close the cursor); profiled in the Matrix peer benchmark they were a third of
the bot's CPU. This cursor does all four in one function on aiosqlite's thread, as
aiosqlite's own `execute_fetchall` does, and keeps the rows, the description, the rowcount and
the last row id it brought back. Everything else (the connection, transactions, errors,
termination) is SQLAlchemy's adapter unchanged; like that adapter, it reaches aiosqlite's
thread through `Connection._execute` and `_conn`.

Used by `Database` for every `sqlite+aiosqlite` URL: `create_async_engine(url,
module=one_trip_dbapi())`.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

_Description = tuple[tuple[Any, ...], ...] | None


def _run(conn: sqlite3.Connection, sql: str, params: Any, many: bool
         ) -> tuple[_Description, list[Any], int, int | None]:
    """On aiosqlite's thread: the whole statement, rows included."""
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


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor with no aiosqlite cursor behind it: each execute is one trip."""

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

    async def _trip(self, sql: str, params: Any, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection = self._connection
            description, rows, self._rowcount, self._lastrowid = await connection._execute(
                _run, connection._conn, sql, params, many)
            self._description = description
            self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._trip(operation, () if parameters is None else parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._trip(operation, seq_of_parameters, True)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass; mypy reads it as a clash


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
