"""Helpers shared by the tests: dates as members type them, and a snapshot of the database."""

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


async def snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, to show that a refused command changed nothing."""
    tables = {}
    async with db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            rows = (await s.execute(select(table))).all()
            tables[table.name] = sorted(tuple(r) for r in rows)
    return tables
