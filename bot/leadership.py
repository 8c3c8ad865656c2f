"""One reader per platform account: a copy of the bot reads Telegram or syncs Matrix only while
it leads that account.

On PostgreSQL each account is a session advisory lock, held on a connection of its own for as
long as the copy lives. A copy that dies (SIGKILL, OOM, a lost machine) loses its connection and
with it its locks at once; a waiting copy, trying every `poll` seconds, then takes over. A copy
that loses its connection to the database while alive can no longer be sure it leads, so it
stops reading (`lost` fires) and exits for its supervisor to restart it as a follower.

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

log = logging.getLogger(__name__)


class NotAlone(Exception):
    """Another copy of the bot runs on this SQLite database."""


def lock_key(account: str) -> int:
    """A stable 63-bit advisory lock key for an account, e.g. "telegram:123456"."""
    digest = hashlib.sha256(f"irlbot:{account}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class Leadership:
    def __init__(self, db: Database, accounts: Sequence[str], *, poll: float = 2.0,
                 check_every: float = 5.0) -> None:
        self.db = db
        self.accounts = sorted(accounts)  # one order for every copy: no deadlock between two
        self.poll = poll
        self.check_every = check_every
        self._conn: AsyncConnection | None = None
        self._file: IO[str] | None = None
        self._watch: asyncio.Task[None] | None = None

    async def acquire(self) -> None:
        """Wait until this copy leads every one of its accounts (SQLite: now, or NotAlone)."""
        if self.db.dialect == "sqlite":
            self._lock_file()
            return
        while True:
            try:
                if await self._try_all():
                    log.info("leading %s", ", ".join(self.accounts))
                    return
            except Exception as exc:
                log.warning("can't reach the database to lead %s (%s); trying again",
                            ", ".join(self.accounts), exc)
                await self._drop()
            await asyncio.sleep(self.poll)

    async def _try_all(self) -> bool:
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
                log.info("another copy leads %s; this one waits", account)
                return False
            held.append(account)
        return True

    def watch(self, lost: Callable[[], None]) -> None:
        """Call `lost` once when this copy can no longer be sure it leads."""
        if self._conn is None:
            return

        async def check() -> None:
            while True:
                await asyncio.sleep(self.check_every)
                try:
                    assert self._conn is not None
                    await asyncio.wait_for(self._conn.scalar(text("SELECT 1")), self.check_every)
                    await self._conn.commit()
                except Exception as exc:
                    log.error("lost the database connection that holds the lead (%s); "
                              "stopping, for another copy to take over", exc)
                    lost()
                    return

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

    async def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()  # the session's advisory locks go with it
            self._conn = None

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
