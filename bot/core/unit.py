"""Units of work: one transaction, whose outbox rows are written in it and sent after the
commit.

The rows a unit writes are claimed by it in the same transaction (a lease), so it can send
them at once; rows left behind by a crash are claimed later with a conditional UPDATE only one
process can win (`claim`). Rows are sent in order, in chunks: after each chunk one small
transaction marks its rows sent and records what the platforms answered (message and poll
ids, a DM refused). A process that dies mid-send leaves its claimed rows to be sent again when
their lease ends; only those sent but not yet recorded go out twice.

Shutting down (`stop_sending_at`): from the deadline on, no row is sent any more; a sender
records what it sent and gives up its claim on the rest, so the next start sends them at once.
`in_flight` and `idle()` tell the shutdown when the units in progress are done."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime

from sqlalchemy import or_, update

from bot.core.notify import dm_failed
from bot.core.outbox import Claimed, Delivered, Outbox, pass_on, send_row
from bot.core.work import Services, Work
from bot.db.models import (
    Chapter,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Person,
    PostedMessage,
    PostKind,
    Reminder,
    ReminderStatus,
)
from bot.db.session import Database, changed_one_row

log = logging.getLogger(__name__)


class Units:
    """Opens units of work on one database for one set of services."""

    def __init__(self, db: Database, svc: Services) -> None:
        self.db = db
        self.svc = svc
        # SQLite allows one writer at a time; queue our own units of work instead of
        # letting them fail with "database is locked".
        self._serial = asyncio.Lock() if db.dialect == "sqlite" else None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.deadline: datetime | None = None  # no row is sent from then on (shutting down)

    # --- shutting down ---------------------------------------------------------------------

    def stop_sending_at(self, deadline: datetime) -> None:
        """From `deadline` on, senders stop, record what they sent and release the rest."""
        self.deadline = deadline if self.deadline is None else min(self.deadline, deadline)

    def past_deadline(self) -> bool:
        return self.deadline is not None and self.svc.clock.now() >= self.deadline

    @property
    def in_flight(self) -> int:
        """Units of work and sends in progress (a unit's own send counts as part of it)."""
        return self._in_flight

    async def idle(self) -> None:
        """Wait until no unit of work and no send is in progress."""
        await self._idle.wait()

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    def _one_at_a_time(self) -> contextlib.AbstractAsyncContextManager[object]:
        return self._serial if self._serial is not None else contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def __call__(self, now: datetime | None = None) -> AsyncIterator[Work]:
        """`async with units() as w:` commits when the block ends and then sends what it
        queued; when the block raises, nothing is written and nothing is sent."""
        box = Outbox()
        with self._busy():
            async with self._one_at_a_time(), self.db.transaction() as s:
                w = Work(s, box, self.svc, now or self.svc.clock.now())
                yield w
                rows = await box.store(s, w.now,
                                       self.svc.clock.now() + self.svc.settings.send_lease,
                                       self.svc.serves)
            await self.send(rows)

    async def claim(self, ids: Sequence[int]) -> list[Claimed]:
        """Claim these pending rows, as far as no one else holds them; in id order."""
        if not ids:
            return []
        async with self._one_at_a_time(), self.db.transaction() as s:
            now = self.svc.clock.now()
            lease = now + self.svc.settings.send_lease
            result = await s.execute(
                update(OutboxMessage).where(
                    OutboxMessage.id.in_(list(ids)),
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.platform.in_(list(self.svc.messengers)),
                    OutboxMessage.attempts < self.svc.settings.max_attempts,
                    or_(OutboxMessage.claimed_until.is_(None),
                        OutboxMessage.claimed_until <= now))
                .values(claimed_until=lease, attempts=OutboxMessage.attempts + 1)
                .returning(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.platform,
                           OutboxMessage.payload)
                .execution_options(synchronize_session=False))
            rows = []
            for row_id, kind, platform, payload in result.all():
                try:
                    rows.append(Claimed(row_id, OutboxKind(kind), platform, json.loads(payload),
                                        lease))
                except ValueError:  # not one we wrote: nothing to send, ever
                    log.error("outbox row %s (%s to %s) cannot be read; marked failed: %.200r",
                              row_id, kind, platform, payload)
                    await s.execute(update(OutboxMessage).where(OutboxMessage.id == row_id)
                                    .values(status=OutboxStatus.FAILED, claimed_until=None))
        return sorted(rows, key=lambda row: row.id)

    async def send(self, rows: Sequence[Claimed]) -> int:
        """Send claimed rows in order, recording each chunk; returns how many were handled.
        A failure here never reaches the caller: what the unit did is committed. Past the
        shutdown deadline the rows not yet sent are released for the next start."""
        with self._busy():
            return await self._send(rows)

    async def _send(self, rows: Sequence[Claimed]) -> int:
        if not rows:
            return 0
        leases = {row.id: row.lease for row in rows}
        unrecorded = [0]  # the index of the first row not yet recorded

        async def keep_claim() -> None:
            # One send can wait longer than the lease (a group's 20-a-minute limit): while it
            # waits, the rows not yet recorded stay this process's, or a sweep would send
            # them again.
            while True:
                await asyncio.sleep(self.svc.settings.send_lease.total_seconds() / 3)
                with contextlib.suppress(Exception):
                    leases.update(await self._renew(
                        {r.id: leases[r.id] for r in rows[unrecorded[0]:]}))

        keeper = asyncio.create_task(keep_claim())
        try:
            return await self._send_chunks(rows, leases, unrecorded)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _send_chunks(self, rows: Sequence[Claimed], leases: dict[int, datetime],
                           unrecorded: list[int]) -> int:
        settings = self.svc.settings
        done = 0
        for start in range(0, len(rows), settings.send_chunk):
            chunk = rows[start:start + settings.send_chunk]
            results: list[tuple[Claimed, Delivered]] = []
            for row in chunk:
                if self.past_deadline():
                    break
                if leases[row.id] - self.svc.clock.now() < settings.send_lease / 2:
                    # A slow platform (a group's rate limit): keep ours what is not recorded.
                    leases.update(await self._renew({r.id: leases[r.id] for r in rows[start:]}))
                try:
                    delivered = await send_row(self.svc.messenger, self.svc.serves, row)
                except Exception:
                    log.exception("outbox row %s (%s to %s chat %s) could not be sent; marked "
                                  "failed", row.id, row.kind, row.platform,
                                  row.payload.get("chat") or row.payload.get("targets"))
                    delivered = Delivered(error=True)
                results.append((row, delivered))
            if results and not await self._record(results, leases):
                return done
            done += len(results)
            unrecorded[0] = start + len(results)
            if len(results) < len(chunk):  # the shutdown deadline passed
                await self._release([row.id for row in rows[start + len(results):]])
                return done
        return done

    async def _record(self, results: list[tuple[Claimed, Delivered]],
                      leases: dict[int, datetime]) -> bool:
        """Record a chunk; when that fails, each row on its own, so one row whose record
        fails every time is not sent again with the whole chunk. False when any is left."""
        try:
            async with self() as w:
                await _record(w, results, leases)
            return True
        except Exception:
            if len(results) == 1:
                log.exception("outbox row %s (%s to %s): sent, but not recorded; it is sent "
                              "again after its lease (at most %d tries)", results[0][0].id,
                              results[0][0].kind, results[0][0].platform,
                              self.svc.settings.max_attempts)
                return False
        recorded = [await self._record([one], leases) for one in results]
        return all(recorded)

    async def _release(self, ids: list[int]) -> None:
        """Give up the claim on rows not sent, so the next start sends them at once."""
        try:
            async with self._one_at_a_time(), self.db.transaction() as s:
                await s.execute(update(OutboxMessage).where(
                    OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
                    .values(claimed_until=None)
                    .execution_options(synchronize_session=False))
            log.info("shutting down: %d outbox row(s) left for the next start", len(ids))
        except Exception:
            log.exception("outbox rows %s: could not release them; they are sent after their "
                          "lease", ids)

    async def _renew(self, held: dict[int, datetime]) -> dict[int, datetime]:
        """Extend the claim of rows still ours; returns their new lease."""
        renewed: dict[int, datetime] = {}
        async with self._one_at_a_time(), self.db.transaction() as s:
            lease = self.svc.clock.now() + self.svc.settings.send_lease
            for row_id, old in held.items():
                result = await s.execute(update(OutboxMessage).where(
                    OutboxMessage.id == row_id, OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.claimed_until == old)
                    .values(claimed_until=lease).execution_options(synchronize_session=False))
                if changed_one_row(result):
                    renewed[row_id] = lease
        return renewed


async def _record(w: Work, results: list[tuple[Claimed, Delivered]],
                  leases: dict[int, datetime]) -> None:
    """Mark a chunk of rows sent (or failed) and file what the platforms answered. A row is
    marked only while the claim is still this process's own (its lease unchanged)."""
    plain: dict[OutboxStatus, list[int]] = {OutboxStatus.SENT: [], OutboxStatus.FAILED: []}
    reminders: dict[ReminderStatus, list[int]] = {ReminderStatus.SENT: [],
                                                  ReminderStatus.FAILED: []}
    for row, delivered in results:
        if delivered.passed_on:
            w.out.add(pass_on(row.payload, delivered.passed_on))
            plain.setdefault(OutboxStatus.PASSED_ON, []).append(row.id)
            continue
        ok = not delivered.error and delivered.failure is None
        posted = delivered.posted
        if posted is not None and delivered.message_id is not None:
            w.s.add(PostedMessage(chapter_id=posted["chapter_id"], kind=PostKind(posted["kind"]),
                                  meetup_id=posted["meetup_id"], poll_id=posted["poll_id"],
                                  platform=row.platform, chat_id=row.payload["chat"],
                                  message_id=delivered.message_id,
                                  platform_poll_id=delivered.platform_poll_id,
                                  created_at=w.now))
        plain[OutboxStatus.SENT if ok else OutboxStatus.FAILED].append(row.id)
        reminder_id = row.payload.get("reminder_id")
        if isinstance(reminder_id, int):
            reminders[ReminderStatus.SENT if ok else ReminderStatus.FAILED].append(reminder_id)
        on_failure = row.payload.get("on_failure")
        if delivered.failure is not None and isinstance(on_failure, dict):
            person = await w.s.get_one(Person, on_failure["person_id"])
            chapter = await w.s.get_one(Chapter, on_failure["chapter_id"])
            await dm_failed(w, person, chapter, on_failure["meetup_id"], delivered.failure)
    for status, ids in plain.items():
        for lease in {leases[row_id] for row_id in ids}:
            await w.s.execute(update(OutboxMessage).where(
                OutboxMessage.id.in_([row_id for row_id in ids if leases[row_id] == lease]),
                OutboxMessage.claimed_until == lease)
                .values(status=status, sent_at=w.now, claimed_until=None)
                .execution_options(synchronize_session=False))
    for reminder_status, ids in reminders.items():
        if ids:
            await w.s.execute(update(Reminder).where(
                Reminder.id.in_(ids), Reminder.status == ReminderStatus.QUEUED)
                .values(status=reminder_status,
                        sent_at=w.now if reminder_status == ReminderStatus.SENT else None)
                .execution_options(synchronize_session=False))
