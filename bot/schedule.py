"""Waking the core when something is due.

The database holds what is due (poll closes, reminders); APScheduler holds one job, armed for
the earliest due row and re-armed after each batch. So 100,000 pending reminders cost one job,
a restart rebuilds the schedule with one query, and a second replica simply finds the rows
already claimed.

Wiring: `wakeups = Wakeups(clock)`; `Core(..., due_changed=wakeups.notify)`;
`wakeups.bind(core)`; `await wakeups.start()` ... `await wakeups.stop()`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.app import Core
from bot.core.ports import Clock
from bot.db.session import database_unreachable
from bot.readiness import Readiness, describe

log = logging.getLogger(__name__)

WAKE_JOB = "irl-wake"
SWEEP_JOB = "irl-sweep"
HOUSEKEEPING_JOB = "irl-housekeeping"
HOUSEKEEPING_FIRST = timedelta(minutes=5)


class Wakeups:
    def __init__(self, clock: Clock, sweep_every: timedelta = timedelta(seconds=60),
                 readiness: Readiness | None = None) -> None:
        self._core: Core | None = None
        self.readiness = readiness or Readiness()
        self._pause = 0.0  # seconds: while the database is away, the wait before the next try
        self.clock = clock
        self.sweep_every = sweep_every
        # APScheduler logs every run of every job at INFO (three lines a sweep, and more
        # while the database is away); what it warns of still shows.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.armed_for: datetime | None = None
        self._running = asyncio.Lock()

    def bind(self, core: Core) -> None:
        self._core = core

    @property
    def core(self) -> Core:
        if self._core is None:
            raise RuntimeError("Wakeups has no core: call wakeups.bind(core) first")
        return self._core

    async def start(self) -> None:
        _ = self.core  # raises when not bound
        self.scheduler.start()
        # Other replicas may write due rows we are not told about: look now and then.
        self.scheduler.add_job(self._wake, IntervalTrigger(seconds=self.sweep_every.total_seconds()),
                               id=SWEEP_JOB, replace_existing=True, coalesce=True,
                               max_instances=1)
        # Housekeeping (Core.prune): every 6 hours, the first a few minutes after start, so
        # that a bot restarted more often than that still prunes.
        self.scheduler.add_job(self._housekeeping, IntervalTrigger(hours=6),
                               id=HOUSEKEEPING_JOB, replace_existing=True, coalesce=True,
                               max_instances=1,
                               next_run_time=datetime.now(UTC) + HOUSEKEEPING_FIRST)
        await self._wake()

    async def stop(self) -> None:
        """Stop waking, and let a batch that is being sent finish before the adapters go."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        async with self._running:
            pass

    def notify(self, due: datetime) -> None:
        """Called by the core when it wrote something due at `due`."""
        if not self.scheduler.running:
            return  # start() looks up the earliest due row itself
        if self.armed_for is None or due < self.armed_for:
            self._arm(due)

    def _arm(self, due: datetime) -> None:
        run_at = max(due, self.clock.now())
        self.armed_for = run_at
        self.scheduler.add_job(self._wake, DateTrigger(run_date=run_at), id=WAKE_JOB,
                               replace_existing=True, misfire_grace_time=None, coalesce=True)

    async def _housekeeping(self) -> None:
        try:
            await self.core.prune()
        except Exception:
            log.exception("housekeeping failed; it runs again in 6 hours")

    async def _wake(self) -> None:
        async with self._running:
            try:
                handled = await self.core.run_due()
                if handled:
                    log.info("handled %d due item(s)", handled)
                self.armed_for = None
                due = await self.core.next_due_at()
            except Exception as exc:
                if not database_unreachable(exc):
                    log.exception("running due items failed")
                    self.armed_for = None
                    return  # the sweep runs them again
                self._unreachable(exc)
                return
            if self._pause:
                log.info("due items: the database answers again")
                self._pause = 0.0
            self.readiness.database_ok()
            if due is not None:
                self._arm(due)

    def _unreachable(self, exc: BaseException) -> None:
        """The database is away: try again after a pause that doubles up to the sweep's
        interval (the sweep goes on too), and say so once."""
        self.readiness.database_down(exc)
        if not self._pause:
            log.warning("due items wait for the database (%s)", describe(exc))
        self._pause = min(max(1.0, self._pause * 2), self.sweep_every.total_seconds())
        if self.scheduler.running:
            self._arm(self.clock.now() + timedelta(seconds=self._pause))
