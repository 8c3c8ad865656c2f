"""The inbox: every Telegram update is stored before Telegram is told it arrived.

Polling confirms a batch to Telegram with the next `getUpdates` offset, and a webhook by its
200; after that Telegram never sends the update again. So the adapter first stores the raw
updates (one transaction per batch, an update_id already there is skipped), then confirms,
then hands them to python-telegram-bot, and marks each one handled once its handler
returned. Rows a crash left unhandled are handed over again at the next start, in update_id
order; the core records the event id of each unit of work, so one that had committed
changes nothing the second time.

Without a database (tests and benchmarks that only send) the inbox lives in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select, update

from bot.db.bulk import insert_skipping
from bot.db.models import InboxUpdate
from bot.db.session import Database

log = logging.getLogger(__name__)

PLATFORM = "telegram"
_MARK_CHUNK = 500  # ids in one UPDATE ... IN (...)
MARK_PAUSE_MAX = 30.0  # seconds between tries to write marks while the database is away


class Inbox:
    """Stored updates of one platform: `store`, `unhandled`, `handled`, `flush`."""

    def __init__(self, db: Database | None, platform: str = PLATFORM) -> None:
        self.db = db
        self.platform = platform
        self._seen: set[int] = set()  # in memory: every update_id stored
        self._waiting: dict[int, str] = {}  # in memory: update_id -> payload, not yet handled
        self._done: list[int] = []  # handled, not yet written down
        self._attempts: dict[int, int] = {}  # in memory: update_id -> handlers that raised
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()  # cleared while the writer is inside a transaction
        self._idle.set()

    @property
    def durable(self) -> bool:
        return self.db is not None

    async def store(self, updates: Sequence[tuple[int, str]]) -> set[int]:
        """Store (update_id, raw JSON) pairs in one transaction; returns the ids that were
        new (an update Telegram sent again is stored, and handed over, once)."""
        if not updates:
            return set()
        if self.db is None:
            new = {uid for uid, _ in updates if uid not in self._seen}
            self._seen.update(new)
            self._waiting.update((uid, p) for uid, p in updates if uid in new)
            return new
        now = datetime.now(UTC)
        rows = [
            {"platform": self.platform, "update_id": uid, "payload": payload, "received_at": now}
            for uid, payload in dict(updates).items()
        ]
        async with self.db.transaction() as s:
            inserted = await insert_skipping(s, InboxUpdate, ["platform", "update_id"], rows,
                                             returning=[InboxUpdate.update_id])
        return {uid for (uid,) in inserted}

    async def unhandled(self) -> list[tuple[int, str]]:
        """What was stored and not handled (a crash, a stop before its turn), oldest first."""
        if self.db is None:
            return sorted(self._waiting.items())
        async with self.db.transaction() as s:
            result = await s.execute(
                select(InboxUpdate.update_id, InboxUpdate.payload)
                .where(InboxUpdate.platform == self.platform, InboxUpdate.handled_at.is_(None))
                .order_by(InboxUpdate.update_id)
            )
            return [(uid, payload) for uid, payload in result.all()]

    def handled(self, update_id: int) -> None:
        """The update's handler returned. Written down shortly after, several in one
        statement: a crash in between only means the core sees it once more and ignores it."""
        if self.db is None:
            self._waiting.pop(update_id, None)
            return
        self._done.append(update_id)
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="telegram inbox marks")

    def marks_pending(self) -> set[int]:
        """Handled, but not yet written down."""
        return set(self._done)

    async def failed_once(self, update_id: int) -> int:
        """A handler raised on this update: count it; returns how often that happened."""
        if self.db is None:
            self._attempts[update_id] = self._attempts.get(update_id, 0) + 1
            return self._attempts[update_id]
        async with self.db.transaction() as s:
            tries = await s.scalar(
                update(InboxUpdate)
                .where(InboxUpdate.platform == self.platform, InboxUpdate.update_id == update_id)
                .values(attempts=InboxUpdate.attempts + 1)
                .returning(InboxUpdate.attempts))
        return tries or 1

    async def give_up(self, update_id: int) -> None:
        """Tried often enough: marked handled (and failed), never handed over again."""
        if self.db is None:
            self._waiting.pop(update_id, None)
            self._attempts.pop(update_id, None)
            return
        now = datetime.now(UTC)
        async with self.db.transaction() as s:
            await s.execute(
                update(InboxUpdate)
                .where(InboxUpdate.platform == self.platform, InboxUpdate.update_id == update_id)
                .values(handled_at=now, failed_at=now))

    async def flush(self) -> None:
        """Write down every handled mark now (at stop)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            # A cancel inside its transaction would also cancel the rollback that returns
            # the connection to the pool: let the write in hand end first.
            idle = asyncio.ensure_future(self._idle.wait())
            await asyncio.wait({writer, idle}, return_when=asyncio.FIRST_COMPLETED)
            idle.cancel()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        await self._write_marks()

    async def _write_loop(self) -> None:
        pause = 0.0
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._idle.clear()
            failed: Exception | None = None
            try:
                await self._write_marks()
            except Exception as exc:
                failed = exc
            finally:
                self._idle.set()
            if failed is None:
                pause = 0.0
                continue
            # The database away: try again after growing pauses, and say so once.
            if pause == 0:
                log.warning("could not mark Telegram updates handled (%r); trying again", failed)
            pause = min(max(1.0, pause * 2), MARK_PAUSE_MAX)
            await asyncio.sleep(pause)
            self._wake.set()

    async def _write_marks(self) -> None:
        if not self._done or self.db is None:
            return
        ids, self._done = self._done, []
        try:
            await self._mark(ids)
        except BaseException:
            self._done[:0] = ids
            raise

    async def _mark(self, ids: list[int]) -> None:
        assert self.db is not None
        now = datetime.now(UTC)
        async with self.db.transaction() as s:
            for start in range(0, len(ids), _MARK_CHUNK):
                chunk = ids[start : start + _MARK_CHUNK]
                await s.execute(
                    update(InboxUpdate)
                    .where(InboxUpdate.platform == self.platform, InboxUpdate.update_id.in_(chunk))
                    .values(handled_at=now)
                )
