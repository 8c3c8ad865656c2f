"""The operator's metrics (GET /metrics), with prometheus-client.

One `Prometheus` per process, built by the composition root (bot/__main__.py) whether or not
the web server runs, and handed to the core (it implements bot.core.ports.Metrics: the core
calls it in the bot's thread) and to the web server (which renders its registry in its own
thread; prometheus-client's metrics are thread-safe). It has its own CollectorRegistry, not
the library's global one: two bots in one process (the tests) don't mix their counts, and
nothing else a library registers shows up.

The outbox gauges are read from the database when /metrics is asked, in the web thread, on
the web server's own engine.

What each metric means (the README lists them too):

- `irl_commands_total{command,platform}`: commands the core handled (past the per-member
  limit), by the command's own name ("unknown" for one the bot doesn't know).
- `irl_reply_latency_seconds{platform}`: from a command reaching the core to the first
  message its handling sent (its reply, or its refusal) being accepted by the platform's
  messenger: the database, the handler, the commit and the platform's rate limits included.
- `irl_outbox_pending`, `irl_outbox_oldest_pending_age_seconds`: messages owed and not yet
  sent (any platform), and how long the oldest has waited (0 when none; NaN when the
  database can't be read).
- `irl_reminders_sent_total`, `irl_reminders_failed_total`, `irl_reminders_skipped_total`,
  `irl_reminder_lateness_seconds` (sent_at - due_at of each one sent).
- `irl_platform_retries_total{platform,reason}`: platform calls tried again; reason
  "rate_limited" is a 429 (Telegram's RetryAfter, Matrix's M_LIMIT_EXCEEDED), "network" a
  lost connection, "server_error" a 5xx.
- `irl_dms_refused_total{platform}`: DMs no account of the person accepted (they never
  started the bot, or blocked it).
- `irl_web_rate_limited_total`: web requests refused with 429 (bot/web/limits.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from bot.core.ports import Clock
from bot.db.models import OutboxMessage, OutboxStatus
from bot.db.session import Database

log = logging.getLogger(__name__)

__all__ = ["CONTENT_TYPE", "Prometheus"]

# From a fast command (tens of ms) to one waiting out a group's 20-a-minute limit.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0)
# From on time to the 3 h grace after a downtime (reminder_grace).
LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 10800.0)
# How long a scrape waits for the outbox query.
OUTBOX_QUERY_TIMEOUT = 5.0


class Prometheus:
    """bot.core.ports.Metrics on a registry of its own; `render` gives the text format."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock  # for the outbox's age; the system's when None
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.commands = Counter("irl_commands", "Commands the core handled, by name and platform",
                                ["command", "platform"], registry=r)
        self.reply_latency = Histogram(
            "irl_reply_latency_seconds",
            "From a command reaching the core to its first message sent by the platform's "
            "messenger", ["platform"], buckets=LATENCY_BUCKETS, registry=r)
        self.outbox_pending = Gauge("irl_outbox_pending",
                                    "Outbox messages not yet sent (read at each scrape)",
                                    registry=r)
        self.outbox_age = Gauge("irl_outbox_oldest_pending_age_seconds",
                                "How long the oldest unsent outbox message has waited",
                                registry=r)
        self.reminders_sent = Counter("irl_reminders_sent", "Reminders sent", registry=r)
        self.reminders_failed = Counter("irl_reminders_failed",
                                        "Reminders that could not be sent", registry=r)
        self.reminders_skipped = Counter(
            "irl_reminders_skipped",
            "Reminders not sent: too late after a downtime, meetup cancelled, member not going",
            registry=r)
        self.reminder_lateness = Histogram("irl_reminder_lateness_seconds",
                                           "sent_at - due_at of each reminder sent",
                                           buckets=LATENESS_BUCKETS, registry=r)
        self.retries = Counter("irl_platform_retries",
                               "Platform calls tried again (rate_limited: a 429)",
                               ["platform", "reason"], registry=r)
        self.dms_refused = Counter("irl_dms_refused",
                                   "DMs no account of the person accepted", ["platform"],
                                   registry=r)
        self.web_rate_limited = Counter("irl_web_rate_limited",
                                        "Web requests refused with 429 (a client over its rate)",
                                        registry=r)

    # --- bot.core.ports.Metrics (the bot's thread) ---------------------------------------

    def command(self, name: str, platform: str) -> None:
        self.commands.labels(name, platform).inc()

    def replied(self, platform: str, seconds: float) -> None:
        self.reply_latency.labels(platform).observe(max(0.0, seconds))

    def reminder(self, outcome: str, lateness_s: float | None = None) -> None:
        if outcome == "sent":
            self.reminders_sent.inc()
            if lateness_s is not None:
                self.reminder_lateness.observe(max(0.0, lateness_s))
        elif outcome == "failed":
            self.reminders_failed.inc()
        elif outcome == "skipped":
            self.reminders_skipped.inc()

    def dm_refused(self, platform: str) -> None:
        self.dms_refused.labels(platform).inc()

    def retried(self, platform: str, reason: str) -> None:
        self.retries.labels(platform, reason).inc()

    # --- the web server's thread ---------------------------------------------------------

    def text(self) -> str:
        """The text format as it stands (the outbox gauges as last read)."""
        return generate_latest(self.registry).decode()

    async def render(self, db: Database) -> bytes:
        """The text format, the outbox gauges read from `db` first."""
        await self.read_outbox(db)
        return generate_latest(self.registry)

    async def read_outbox(self, db: Database) -> None:
        try:
            async with asyncio.timeout(OUTBOX_QUERY_TIMEOUT), db.transaction() as s:
                count, oldest = (await s.execute(
                    select(func.count(), func.min(OutboxMessage.created_at))
                    .where(OutboxMessage.status == OutboxStatus.PENDING))).one()
        except Exception as exc:  # the database away: say "unknown", not a stale number
            log.warning("metrics: the outbox can't be read (%s)", exc.__class__.__name__)
            self.outbox_pending.set(math.nan)
            self.outbox_age.set(math.nan)
            return
        now = self.clock.now() if self.clock is not None else datetime.now(UTC)
        self.outbox_pending.set(count or 0)
        self.outbox_age.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
