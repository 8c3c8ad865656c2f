"""A fresh, empty database for one benchmark run, dropped afterwards: a SQLite file in a
temporary directory, or a PostgreSQL database `irl_bench_<random>` (IRL_BENCH_PG_HOST,
IRL_BENCH_PG_PORT, IRL_BENCH_PG_USER; default postgres@127.0.0.1:5432, trust).

Imports nothing of the bot, so a script can use it against any tree of the project."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

PG_HOST = os.environ.get("IRL_BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("IRL_BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("IRL_BENCH_PG_USER", "postgres")


async def _admin():  # type: ignore[no-untyped-def]
    import asyncpg

    return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres",
                                 timeout=5)


@contextlib.asynccontextmanager
async def fresh_database(kind: str, keep: bool = False) -> AsyncIterator[str]:
    """Yields the SQLAlchemy URL of a new database of `kind` ("sqlite" or "postgres");
    `keep`: a PostgreSQL database is left in place afterwards."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="irl_bench_"))
        try:
            yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"irl_bench_{uuid.uuid4().hex[:12]}"
    conn = await _admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        if not keep:
            conn = await _admin()
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
