"""Building the adapter from the `[matrix]` settings, for `irlbot run`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.adapters.matrix.adapter import MatrixAdapter
from bot.adapters.matrix.settings import MatrixSettings
from bot.adapters.matrix.state import DbStateStore

if TYPE_CHECKING:
    from bot.db.session import Database


def build_matrix(settings: MatrixSettings, db: Database) -> MatrixAdapter:
    """The adapter, its state in the database's adapter_state table, not yet bound:
    `adapter.bind(core)`, then `await adapter.start()` / `stop()`."""
    return MatrixAdapter(settings, DbStateStore(db))
