"""Housekeeping: what the bot no longer needs is deleted, on a schedule (bot/schedule.py runs
`Core.prune` every 6 hours, and once at start).

- `outbox`: a row sent or failed, `keep_sent` (7 days) after it was sent; a pending row never;
- `inbox`: an update handled, `keep_handled` (7 days) after it was handled; an unhandled one
  never (of the platforms this process serves);
- `handled_messages`: `keep_handled` (7 days) after the event was handled;
- `posted_messages`: an announcement (in a group, or a follower's DM) `keep_posts` (30 days)
  after its meetup started, a poll `keep_posts` after it closed; those of a meetup still to
  come or a poll still open never.

No platform delivers an update again after a week, and nobody answers a meetup that was a
month ago. Deletes go in batches of `prune_batch` rows, each its own short transaction, so a
big table never holds a long lock; each batch finds the oldest rows through an index on the
time that makes them old.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from bot.core.unit import Units
from bot.db.models import (
    HandledMessage,
    InboxUpdate,
    Meetup,
    OutboxMessage,
    OutboxStatus,
    Poll,
    PostedMessage,
    PostKind,
)

log = logging.getLogger(__name__)

Model = type[OutboxMessage] | type[InboxUpdate] | type[HandledMessage] | type[PostedMessage]


@dataclass(frozen=True)
class Pruned:
    """How many rows of each table were deleted."""

    outbox: int = 0
    inbox: int = 0
    handled: int = 0
    posts: int = 0

    @property
    def total(self) -> int:
        return self.outbox + self.inbox + self.handled + self.posts


def old_outbox(cutoff: datetime) -> Old:
    return Old(OutboxMessage.sent_at,
               # "not pending" (sent or failed) leaves ix_outbox_sent_at to find them
               and_(OutboxMessage.status != OutboxStatus.PENDING, OutboxMessage.sent_at < cutoff))


def old_inbox(cutoff: datetime, platforms: Sequence[str]) -> Old:
    # Per platform, so that ix_inbox_unhandled (platform, handled_at, ...) finds them.
    return Old(InboxUpdate.handled_at,
               and_(InboxUpdate.platform.in_(list(platforms)),
                    InboxUpdate.handled_at.is_not(None), InboxUpdate.handled_at < cutoff))


def old_handled(cutoff: datetime) -> Old:
    return Old(HandledMessage.handled_at, HandledMessage.handled_at < cutoff)


def old_posts(cutoff: datetime) -> Old:
    over = select(Meetup.id).where(Meetup.starts_at < cutoff)
    closed = select(Poll.id).where(Poll.closed_at < cutoff)
    return Old(PostedMessage.id, or_(
        and_(PostedMessage.kind.in_([PostKind.ANNOUNCEMENT, PostKind.DM_ANNOUNCEMENT]),
             PostedMessage.meetup_id.in_(over)),
        and_(PostedMessage.kind == PostKind.POLL, PostedMessage.poll_id.in_(closed))))


@dataclass(frozen=True)
class Old:
    """Which rows are old, and the (indexed) column to find them by, oldest first."""

    order: ColumnElement[object] | InstrumentedAttribute[Any]
    where: ColumnElement[bool]


async def delete_in_batches(units: Units, model: Model, old: Callable[[], Old]) -> int:
    """Delete the rows `old` names, at most `prune_batch` per transaction."""
    batch = units.svc.settings.prune_batch
    deleted = 0
    while True:
        which = old()
        async with units() as w:
            ids = list(await w.s.scalars(
                select(model.id).where(which.where).order_by(which.order).limit(batch)))
            if ids:
                await w.s.execute(delete(model).where(model.id.in_(ids))
                                  .execution_options(synchronize_session=False))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted


async def prune(units: Units) -> Pruned:
    settings = units.svc.settings
    now = units.svc.clock.now()
    pruned = Pruned(
        outbox=await delete_in_batches(units, OutboxMessage,
                                       lambda: old_outbox(now - settings.keep_sent)),
        inbox=await delete_in_batches(
            units, InboxUpdate, lambda: old_inbox(now - settings.keep_handled,
                                                  list(units.svc.messengers))),
        handled=await delete_in_batches(units, HandledMessage,
                                        lambda: old_handled(now - settings.keep_handled)),
        posts=await delete_in_batches(units, PostedMessage,
                                      lambda: old_posts(now - settings.keep_posts)),
    )
    if pruned.total:
        log.info("housekeeping: deleted %s", pruned)
    return pruned
