"""Helpers shared by the tests: a chapter set up as an organiser would, dates as members type them,
and a snapshot of the database."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.db.models import Base
from bot.db.session import Database
from tests.fakes import Chat

TZ = ZoneInfo("Europe/Amsterdam")


def local(chat: Chat, delta: timedelta) -> str:
    """The moment `delta` from the chat's clock, as a member in Amsterdam types it."""
    return (chat.clock.now() + delta).astimezone(TZ).strftime("%Y-%m-%d %H:%M")


# What the bot has said (the outbox, with its refusals) is no change of the chapter's state.
NOT_STATE = {"outbox"}


async def snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table but the outbox, to show that a refused command changed
    nothing."""
    tables = {}
    async with db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in NOT_STATE:
                continue
            rows = (await s.execute(select(table))).all()
            tables[table.name] = sorted(tuple(r) for r in rows)
    return tables


async def chapter(chat: Chat) -> None:
    """alice, an admin of the group, sets up the chapter SMC Den Bosch."""
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")


async def ready(chat: Chat) -> None:
    """The chapter is set up, and bob is a known member (so a snapshot taken now includes him)."""
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.say("bob", "/help")  # bob becomes a known member before the snapshot


async def setup_chapter(chat: Chat, capacity: int | None = 2) -> None:
    """The chapter is set up and alice proposes Tweetup #1 on two dates (5 and 6 days away)."""
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    d1, d2 = local(chat, timedelta(days=5)), local(chat, timedelta(days=6))
    cap = f"; max {capacity}" if capacity else ""
    await chat.say("alice", f"/newmeetup Tweetup #1; {d1} | {d2}; Verkadefabriek{cap}")
