"""Where the adapter keeps what must survive a restart (token, device id, sync position)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.db.session import Database

PLATFORM = "matrix"


class StateStore(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...


class MemoryStateStore:
    """For tests and `irlbot demo`: forgets everything when the process ends."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.data.get(key)

    async def set(self, key: str, value: str) -> None:
        self.data[key] = value


class DbStateStore:
    """The `adapter_state` table, through bot.db.state."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        from bot.db.state import load_state

        return await load_state(self._db, PLATFORM, key)

    async def set(self, key: str, value: str) -> None:
        from bot.db.state import save_state

        await save_state(self._db, PLATFORM, key, value)


def state_key(prefix: str, ident: str, limit: int = 120) -> str:
    """`prefix + ident`, or a hash of ident when that would not fit the key column."""
    key = prefix + ident
    if len(key) <= limit:
        return key
    import hashlib

    return prefix + "#" + hashlib.sha256(ident.encode()).hexdigest()
