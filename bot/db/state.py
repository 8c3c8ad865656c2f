"""Small key/value state adapters keep across restarts (sync tokens, device ids)."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models import AdapterState
from bot.db.session import Database


async def load_state(db: Database, platform: str, key: str) -> str | None:
    async with db.transaction() as s:
        row = await s.scalar(
            select(AdapterState).where(AdapterState.platform == platform, AdapterState.key == key)
        )
        return row.value if row else None


async def save_state(db: Database, platform: str, key: str, value: str) -> None:
    async with db.transaction() as s:
        row = await s.scalar(
            select(AdapterState).where(AdapterState.platform == platform, AdapterState.key == key)
        )
        if row is None:
            s.add(AdapterState(platform=platform, key=key, value=value))
        else:
            row.value = value
