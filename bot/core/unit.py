"""Units of work: one transaction, whose outbox rows are written in it and sent after the
commit.

The rows a unit writes are claimed by it in the same transaction (a lease), so it can send
them at once; rows left behind by a crash are claimed later with a conditional UPDATE only one
process can win (`claim`). Rows are sent in order, in chunks: each chunk is marked sent
before the next goes out; the last chunk's marks ride on the next unit of work's commit (or
a flusher's, within `record_within`), so a command costs one transaction. What the platforms
answered beyond "sent" (message and poll ids, a DM refused) is filed in a unit of work at
once. A process that dies mid-send leaves its claimed rows to be sent again when their lease
ends; only those sent but not yet recorded go out twice.

Shutting down (`stop_sending_at`): from the deadline on, no row is sent any more; a sender
records what it sent and gives up its claim on the rest, so the next start sends them at once.
`in_flight` and `idle()` tell the shutdown when the units in progress are done."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

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
        # Rows sent whose record waits for the next unit of work (or the flusher).
        self._marks: list[Mark] = []
        self._solo: list[Mark] = []  # marks a unit failed to carry: written on their own
        self._flusher: asyncio.Task[None] | None = None
        self._oldest = 0.0  # when the oldest of `_marks` was sent (the loop's clock)
        self._open = 0  # units of work open: the next to commit carries the marks
        self._carrying: set[asyncio.Future[None]] = set()  # units writing marks, till commit

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
    async def __call__(self, now: datetime | None = None,
                       received: float | None = None) -> AsyncIterator[Work]:
        """`async with units() as w:` commits when the block ends and then sends what it
        queued; when the block raises, nothing is written and nothing is sent. The unit also
        carries the records of rows sent since the last one (`Mark`): one transaction less a
        command. `received`: when (time.monotonic()) the command this unit handles reached
        the core; the first row it sends is timed from then (`Metrics.replied`)."""
        box = Outbox()
        carried: list[Mark] = []
        committed: asyncio.Future[None] | None = None
        with self._busy():
            self._open += 1
            try:
                async with self._one_at_a_time(), self.db.transaction() as s:
                    w = Work(s, box, self.svc, now or self.svc.clock.now())
                    yield w
                    rows = await box.store(s, w.now,
                                           self.svc.clock.now() + self.svc.settings.send_lease,
                                           self.svc.serves)
                    if received is not None and rows:
                        rows[0] = replace(rows[0], received=received)
                    carried, self._marks = self._marks, []
                    if carried:
                        committed = asyncio.get_running_loop().create_future()
                        self._carrying.add(committed)
                        await write_marks(s, carried)
            except BaseException:
                if carried:  # written alone, so that they can't fail another unit again
                    self._solo.extend(carried)
                    self._flush_soon()
                raise
            finally:
                self._open -= 1
                if committed is not None:
                    committed.set_result(None)
                    self._carrying.discard(committed)
            for event in box.live:  # committed: the wall's open pages may show it
                self.svc.wall.publish(event)
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

    async def send(self, rows: Sequence[Claimed], defer: bool = True) -> int:
        """Send claimed rows in order, recording each chunk; returns how many were handled.
        A failure here never reaches the caller: what the unit did is committed. Past the
        shutdown deadline the rows not yet sent are released for the next start."""
        with self._busy():
            return await self._send(rows, defer)

    async def _send(self, rows: Sequence[Claimed], defer: bool) -> int:
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
            return await self._send_chunks(rows, leases, unrecorded, defer)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _send_chunks(self, rows: Sequence[Claimed], leases: dict[int, datetime],
                           unrecorded: list[int], defer: bool) -> int:
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
                self._count(row, delivered)
                results.append((row, delivered))
            if results:
                try:
                    await self._record(results, leases,
                                       last=defer and start + len(results) >= len(rows))
                except Exception:
                    log.exception("outbox rows %s: sent, but not recorded; they are sent again "
                                  "after their lease", [row.id for row, _ in results])
                    return done
            done += len(results)
            unrecorded[0] = start + len(results)
            if len(results) < len(chunk):  # the shutdown deadline passed
                await self._release([row.id for row in rows[start + len(results):]])
                return done
        return done

    def _count(self, row: Claimed, delivered: Delivered) -> None:
        """Tell the metrics what sending a row did: a command's reply out (its latency), a
        reminder's DM sent (its lateness: sent - due) or failed, a DM refused."""
        metrics = self.svc.metrics
        if delivered.passed_on:
            return  # counted by the copy that serves the next account
        ok = not delivered.error and delivered.failure is None
        if ok and row.received is not None:
            metrics.replied(row.platform, time.monotonic() - row.received)
        if delivered.failure is not None:
            metrics.dm_refused(delivered.failure.user.platform)
        if isinstance(row.payload.get("reminder_id"), int):
            due = row.payload.get("reminder_due")
            if not ok:
                metrics.reminder("failed")
            elif isinstance(due, str):
                metrics.reminder("sent", (self.svc.clock.now()
                                          - datetime.fromisoformat(due)).total_seconds())
            else:  # queued before reminders carried their due time
                metrics.reminder("sent")

    async def _record(self, results: list[tuple[Claimed, Delivered]],
                      leases: dict[int, datetime], last: bool) -> None:
        """Record a chunk. Marking rows sent is left to the next unit of work (or the flusher,
        a few ms on) when it is the send's last chunk; otherwise it is written before the next
        chunk goes out, so at most one chunk of a send is ever sent and not recorded. What
        the platforms answered beyond "sent" (a post's id, a DM refused, a DM passed on) is
        filed in a unit of work of its own, with the chunk's marks."""
        at = self.svc.clock.now()
        marks = [mark(row, delivered, leases[row.id], at) for row, delivered in results]
        if any(_needs_unit(row, delivered) for row, delivered in results):
            async with self() as w:
                await _file_answers(w, results)
                await write_marks(w.s, marks)
            return
        if not self._marks:
            self._oldest = asyncio.get_running_loop().time()
        self._marks.extend(marks)
        # The last chunk waits for a unit of work, unless its lease is half gone already (a
        # slow send): the rows must be recorded long before a sweep may send them again.
        if last and min(m.lease for m in marks) - at > self.svc.settings.send_lease / 2:
            self._flush_soon()
        else:
            await self.flush()

    def _flush_soon(self) -> None:
        """Write the marks waiting for a unit of work within `record_within`, if no unit of
        work carries them first (at once when shutting down)."""
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        """Wait `record_within` from the oldest mark, and as long as a unit of work is open
        (it carries them when it commits) up to five times that, an eighth of the send lease
        at most; then write them."""
        settings = self.svc.settings
        # Never near the rows' lease: once it ends, a sweep would send them again.
        longest = min(5 * settings.record_within, settings.send_lease / 8).total_seconds()
        within = min(settings.record_within.total_seconds(), longest)
        loop = asyncio.get_running_loop()
        with self._busy():
            while self._marks or self._solo:
                if self.deadline is None and not self._solo:
                    age = loop.time() - self._oldest
                    if age < within or (self._open and age < longest):
                        await asyncio.sleep(max(within - age, within / 4))
                        continue
                await self.flush()

    async def flush(self) -> None:
        """Write the marks not yet carried by a unit of work, in a transaction of their own,
        and wait for the units carrying others to commit: when it returns, every row sent
        before the call is recorded (or, should that fail, logged: their rows are sent again
        after their lease)."""
        await self._write_own()
        # Then the units that carry some (they may have taken them while we waited our turn).
        carrying = list(self._carrying)
        if carrying:
            await asyncio.wait(carrying)
            if self._solo:  # a unit that carried some failed
                await self._write_own()

    async def _write_own(self) -> None:
        if not (self._marks or self._solo):
            return
        marks: list[Mark] = []
        try:
            async with self._one_at_a_time():
                # Taken once it is our turn (SQLite): a unit that committed meanwhile may have
                # carried them.
                marks, self._marks, self._solo = self._solo + self._marks, [], []
                if not marks:
                    return
                async with self.db.transaction() as s:
                    await write_marks(s, marks)
        except Exception:
            log.exception("outbox rows %s: sent, but not recorded; they are sent again after "
                          "their lease", [m.row_id for m in marks])

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


@dataclass(frozen=True)
class Mark:
    """A row sent (or refused): its new status, if the claim `lease` is still ours."""

    row_id: int
    lease: datetime
    status: OutboxStatus
    at: datetime
    reminder_id: int | None  # a reminder DM's reminder: sent or failed with its row


def mark(row: Claimed, delivered: Delivered, lease: datetime, at: datetime) -> Mark:
    if delivered.passed_on:
        return Mark(row.id, lease, OutboxStatus.PASSED_ON, at, None)
    ok = not delivered.error and delivered.failure is None
    reminder_id = row.payload.get("reminder_id")
    return Mark(row.id, lease, OutboxStatus.SENT if ok else OutboxStatus.FAILED, at,
                reminder_id if isinstance(reminder_id, int) else None)


def _needs_unit(row: Claimed, delivered: Delivered) -> bool:
    """Whether recording the row takes more than its mark: a DM passed on, a post to file, a
    refused DM to name."""
    return bool(delivered.passed_on
                or (delivered.posted is not None and delivered.message_id is not None)
                or (delivered.failure is not None
                    and isinstance(row.payload.get("on_failure"), dict)))


# One statement each, executed for many rows at once (executemany), compiled once.
_MARK_ROW = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("m_id"),
           OutboxMessage.claimed_until == bindparam("m_lease"))
    .values(status=bindparam("m_status"), sent_at=bindparam("m_at"), claimed_until=None))
_MARK_REMINDER = (
    update(Reminder)
    .where(Reminder.id == bindparam("m_id"), Reminder.status == ReminderStatus.QUEUED)
    .values(status=bindparam("m_status"), sent_at=bindparam("m_at")))


async def write_marks(s: AsyncSession, marks: Sequence[Mark]) -> None:
    """Mark rows sent (or failed, or passed on), each only while its claim is still this
    process's own (its lease unchanged); a reminder DM's reminder with it."""
    if not marks:
        return
    conn = await s.connection()
    await conn.execute(_MARK_ROW, [
        {"m_id": m.row_id, "m_lease": m.lease, "m_status": m.status, "m_at": m.at}
        for m in marks])
    reminders: list[dict[str, Any]] = [
        {"m_id": m.reminder_id,
         "m_status": ReminderStatus.SENT if m.status == OutboxStatus.SENT
         else ReminderStatus.FAILED,
         "m_at": m.at if m.status == OutboxStatus.SENT else None}
        for m in marks if m.reminder_id is not None]
    if reminders:
        await conn.execute(_MARK_REMINDER, reminders)


async def _file_answers(w: Work, results: list[tuple[Claimed, Delivered]]) -> None:
    """File what the platforms answered beyond "sent": posts' ids, DMs passed on to another
    copy's platform, DMs no account accepted."""
    for row, delivered in results:
        if delivered.passed_on:
            w.out.add(pass_on(row.payload, delivered.passed_on))
            continue
        posted = delivered.posted
        if posted is not None and delivered.message_id is not None:
            w.s.add(PostedMessage(chapter_id=posted["chapter_id"], kind=PostKind(posted["kind"]),
                                  meetup_id=posted["meetup_id"], poll_id=posted["poll_id"],
                                  platform=delivered.chat.platform if delivered.chat
                                  else row.platform,
                                  chat_id=delivered.chat.id if delivered.chat
                                  else row.payload["chat"],
                                  message_id=delivered.message_id,
                                  platform_poll_id=delivered.platform_poll_id,
                                  created_at=w.now))
        on_failure = row.payload.get("on_failure")
        if delivered.failure is not None and isinstance(on_failure, dict):
            person = await w.s.get_one(Person, on_failure["person_id"])
            chapter = await w.s.get_one(Chapter, on_failure["chapter_id"])
            await dm_failed(w, person, chapter, on_failure["meetup_id"], delivered.failure,
                            name_in_chat=on_failure.get("name", True))
