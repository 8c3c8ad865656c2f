"""One reader per platform account: a copy of the bot reads Telegram or syncs Matrix only while
it leads that account.

On PostgreSQL each account is a session advisory lock, held on a connection of its own for as
long as the copy lives. A copy that dies (SIGKILL, OOM, a lost machine) loses its connection and
with it its locks at once; a waiting copy, trying every `poll` seconds, then takes over. A copy
that loses its connection to the database while alive can no longer be sure it leads, so it
stops reading (`until_lost` returns), stays up, and contends again (`acquire`) with growing
pauses until the database answers; then it reads again, or waits while another copy leads.

On SQLite there is one copy per database file: a second one is refused at start with a line
that says so (a lock on `<file>.lock` beside the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db.session import Database
from bot.readiness import Readiness, describe

log = logging.getLogger(__name__)

MAX_PAUSE = 10.0  # seconds between tries at most while the database can't be reached
CHECK_TIMEOUT = 5.0  # a leader's check of its connection that takes longer failed


class NotAlone(Exception):
    """Another copy of the bot runs on this SQLite database."""


def lock_key(account: str) -> int:
    """A stable 63-bit advisory lock key for an account, e.g. "telegram:123456"."""
    digest = hashlib.sha256(f"irlbot:{account}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class Leadership:
    """Leading a set of accounts: `acquire` waits until this copy leads them all, `until_lost`
    returns when it can no longer be sure it does (then `acquire` again)."""

    def __init__(self, db: Database, accounts: Sequence[str], *, poll: float = 2.0,
                 check_every: float = 5.0, readiness: Readiness | None = None,
                 max_pause: float = MAX_PAUSE) -> None:
        self.db = db
        self.accounts = sorted(accounts)  # one order for every copy: no deadlock between two
        self.poll = poll
        self.check_every = check_every
        self.max_pause = max(max_pause, poll)
        self.readiness = readiness or Readiness()
        self._conn: AsyncConnection | None = None
        self._file: IO[str] | None = None
        self._watch: asyncio.Task[None] | None = None

    @property
    def names(self) -> str:
        return ", ".join(self.accounts) or "no account"

    async def acquire(self) -> None:
        """Wait until this copy leads every one of its accounts (SQLite: now, or NotAlone).

        While another copy leads, it tries every `poll` seconds; while the database can't be
        reached, after pauses that double from `poll` up to `max_pause`. Each change of state
        is logged once, not each try."""
        if self.db.dialect == "sqlite":
            self._lock_file()
            return
        pause = self.poll
        state = ""
        while True:
            try:
                other = await self._try_all()
            except Exception as exc:
                await self._drop()
                self.readiness.database_down(exc)
                if state != "unreachable":
                    log.warning("can't reach the database to lead %s (%s); trying again, "
                                "every %.0f s at most", self.names, describe(exc),
                                self.max_pause)
                    state = "unreachable"
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.max_pause)
                continue
            self.readiness.database_ok()
            pause = self.poll
            if other is None:
                log.info("leading %s", self.names)
                return
            if state != other:
                log.info("another copy leads %s; this one waits", other)
                state = other
                for account in self.accounts:
                    self.readiness.standby(account.split(":", 1)[0],
                                           f"another copy reads {other}")
            await asyncio.sleep(self.poll)

    async def _try_all(self) -> str | None:
        """Take every account's lock, or none: None when all are ours, else the account
        another copy leads."""
        if self._conn is None:
            self._conn = await self.db.engine.connect()
        held: list[str] = []
        for account in self.accounts:
            won = await self._conn.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                          {"key": lock_key(account)})
            await self._conn.commit()
            if not won:
                for got in held:  # all or none: let the copy that leads it have the rest
                    await self._conn.execute(text("SELECT pg_advisory_unlock(:key)"),
                                             {"key": lock_key(got)})
                await self._conn.commit()
                return account
            held.append(account)
        if not self.accounts:  # nothing to lead: the connection only tells the database is up
            await self._conn.scalar(text("SELECT 1"))
            await self._conn.commit()
        return None

    async def until_lost(self) -> str:
        """Return, with the reason, once this copy can no longer be sure it leads: the
        connection that holds the locks failed a check (every `check_every` seconds). The
        connection is dropped (its locks with it, if the server still had them); `acquire`
        leads again. On SQLite (a lock file) this never returns."""
        if self._conn is None:
            await asyncio.Event().wait()
        while True:
            await asyncio.sleep(self.check_every)
            try:
                assert self._conn is not None
                await asyncio.wait_for(self._check(self._conn),
                                       max(self.check_every, CHECK_TIMEOUT))
            except Exception as exc:
                reason = describe(exc)
                log.error("lost the database connection that holds the lead of %s (%s); "
                          "not reading them until this copy leads again", self.names, reason)
                self.readiness.database_down(exc)
                await self._drop()
                return f"lost the lead ({reason})"
            self.readiness.database_ok()

    @staticmethod
    async def _check(conn: AsyncConnection) -> None:
        await conn.scalar(text("SELECT 1"))
        await conn.commit()

    def watch(self, lost: Callable[[], None]) -> None:
        """Call `lost` once when this copy can no longer be sure it leads."""
        if self._conn is None:
            return

        async def check() -> None:
            await self.until_lost()
            lost()

        self._watch = asyncio.create_task(check())

    async def release(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._drop()
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    async def let_go(self) -> None:
        """Give up the lead (its connection, and with it the locks)."""
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # The session's advisory locks go with it. A connection cut off may not answer a
            # polite close: don't wait for it long.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), CHECK_TIMEOUT)

    def _lock_file(self) -> None:
        database = self.db.engine.url.database
        if not database or database == ":memory:":
            return
        path = Path(database).resolve().with_name(Path(database).name + ".lock")
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "?"
            handle.close()
            raise NotAlone(f"another irlbot (pid {other}) runs on {database}; SQLite serves "
                           "one copy (use PostgreSQL for several)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
