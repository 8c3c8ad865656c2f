"""The core's settings: built from the config file by `bot.config`, defaults for tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.core.i18n import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class CoreSettings:
    default_timezone: str = "Europe/Amsterdam"
    default_language: str = DEFAULT_LANGUAGE
    reminder_offsets: tuple[int, ...] = (24 * 60, 2 * 60)  # minutes before the meetup
    group_reminder_offset: int = 24 * 60
    reminder_grace: timedelta = timedelta(hours=3)
    # How long a due reminder or poll close being handled stays claimed: after a crash another
    # copy (or this one, restarted) takes it then. Its handling only queues outbox rows.
    claim_lease: timedelta = timedelta(seconds=30)
    # How long a message being sent stays claimed: after a crash it is sent again then.
    send_lease: timedelta = timedelta(seconds=30)
    # How long an event waits for an unreachable database before the person is told.
    db_retry: timedelta = timedelta(seconds=30)
    # How often the scheduler looks for work another copy left (or wrote) in the database.
    sweep_every: timedelta = timedelta(seconds=60)
    # Commands a member may send in one chat in a minute; past that they are ignored (0: no
    # limit). Counted per process (bot/core/throttle.py).
    commands_per_minute: int = 10
    # How often a due reminder, a poll close or an outbox row is tried (counted in its row)
    # before it is given up: marked failed (a poll stays open), with a log line naming it.
    max_attempts: int = 5
    send_chunk: int = 10  # messages sent between two records of what went out
    # A send's last chunk is recorded by the next unit of work, or on its own after this
    # (the longest a row sent stays unrecorded when no other unit of work comes).
    record_within: timedelta = timedelta(milliseconds=200)
    batch_size: int = 200
    send_concurrency: int = 16
    # On SIGTERM: how long the outbox is still delivered before the process exits.
    shutdown_deadline: timedelta = timedelta(seconds=10)
    # Housekeeping (bot/core/housekeeping.py): how long what is done is kept.
    keep_sent: timedelta = timedelta(days=7)  # outbox rows sent or failed
    keep_handled: timedelta = timedelta(days=7)  # inbox updates handled, handled event ids
    keep_posts: timedelta = timedelta(days=30)  # after a meetup's start, after a poll closed
    prune_batch: int = 1000  # rows deleted per transaction
    # The web server's public address ([web] public_url; no "/" at the end), None when it is
    # off: announcements, /meetups and /setup then carry the pages' links, and /calendar works.
    public_url: str | None = None
