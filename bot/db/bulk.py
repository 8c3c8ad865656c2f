"""Set-based writes: an INSERT of many rows that skips those a unique constraint already
holds (ON CONFLICT DO NOTHING, spelt the same by SQLite and PostgreSQL)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Base

T = TypeVar("T")

def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


async def insert_skipping(s: AsyncSession, model: type[Base], unique: Sequence[str],
                          rows: Sequence[Mapping[str, Any]],
                          returning: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Insert `rows` (all with the same keys), skipping those whose `unique` columns are
    taken (on PostgreSQL also by a transaction not yet committed: this waits for it).
    Returns the `returning` columns of the rows inserted."""
    if not rows:
        return []
    assert s.bind is not None
    stmt = _statement(s.bind.dialect.name, model, tuple(unique),
                      tuple(c.key for c in returning))
    if not returning:
        await s.execute(stmt, list(rows))
        return []
    result = await s.execute(stmt, list(rows))
    return [tuple(r) for r in result.all()]


@functools.cache
def _statement(dialect_name: str, model: type[Base], unique: tuple[str, ...],
               returning: tuple[str, ...]) -> Insert:
    """Built once for each use (every command records its event this way): building the
    expression costs more than running its cached SQL."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    # The table, not the ORM entity, and the rows as executemany parameters: SQLAlchemy then
    # caches the statement and sends the rows as multi-row VALUES in pages ("insertmanyvalues"),
    # several times cheaper per row than ORM bulk inserts or .values(rows).
    table = cast(Table, model.__table__)
    stmt: Insert = dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique))
    return stmt.returning(*(table.c[key] for key in returning)) if returning else stmt
