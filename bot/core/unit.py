"""Units of work: one transaction with its outbox; after the commit the outbox is sent and
what the platforms answered (message and poll ids, DMs refused) is recorded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from bot.core.notify import dm_failed
from bot.core.outbox import Outbox, Results
from bot.core.work import Services, Work
from bot.db.models import Chapter, Person, PostedMessage
from bot.db.session import Database

log = logging.getLogger(__name__)

RECORD_ROUNDS = 3  # recording can queue more (the "start me" hint), which is sent in turn


class Units:
    """Opens units of work on one database for one set of services."""

    def __init__(self, db: Database, svc: Services) -> None:
        self.db = db
        self.svc = svc
        # SQLite allows one writer at a time; queue our own units of work instead of
        # letting them fail with "database is locked".
        self._serial = asyncio.Lock() if db.dialect == "sqlite" else None

    def _one_at_a_time(self) -> contextlib.AbstractAsyncContextManager[object]:
        return self._serial if self._serial is not None else contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def __call__(self, now: datetime | None = None) -> AsyncIterator[Work]:
        """`async with units() as w:` commits when the block ends and then sends what it
        queued; when the block raises, nothing is written and nothing is sent."""
        box = Outbox()
        async with self._one_at_a_time(), self.db.transaction() as s:
            yield Work(s, box, self.svc, now or self.svc.clock.now())
        await self._deliver(box)

    async def _deliver(self, box: Outbox) -> None:
        """Send after the commit. A failure here must not reach the caller: what the unit
        did is committed, and telling the person "nothing was changed" would be wrong."""
        for _round in range(RECORD_ROUNDS):
            results = await box.flush(self.svc.messenger)
            if not results:
                return
            box = Outbox()
            try:
                async with self._one_at_a_time(), self.db.transaction() as s:
                    await _record(Work(s, box, self.svc, self.svc.clock.now()), results)
            except Exception:
                log.exception("what the platforms answered could not be recorded")
                return


async def _record(w: Work, results: Results) -> None:
    for row in results.posted:
        w.s.add(PostedMessage(**row, created_at=w.now))
    for failed in results.failures:
        person = await w.s.get_one(Person, failed.person_id)
        chapter = await w.s.get_one(Chapter, failed.chapter_id)
        await dm_failed(w, person, chapter, failed.meetup_id, failed.failure)
