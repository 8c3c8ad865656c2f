"""The polls this bot started: how many options each has, and whether it has ended.

Kept in the state store so responses that arrive after a restart still map to options,
and responses after the end event stay ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.adapters.cache import BoundedCache
from bot.adapters.matrix.state import StateStore, state_key

CACHED_POLLS = 1_000  # a response to an unknown id is remembered too: bounded


@dataclass(frozen=True)
class PollInfo:
    room_id: str
    options: int
    max_selections: int
    closed: bool = False


class PollBook:
    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._cache: BoundedCache[str, PollInfo | None] = BoundedCache(CACHED_POLLS)

    @staticmethod
    def _key(poll_id: str) -> str:
        return state_key("poll:", poll_id)

    async def get(self, poll_id: str) -> PollInfo | None:
        if poll_id not in self._cache:
            raw = await self._store.get(self._key(poll_id))
            self._cache[poll_id] = PollInfo(**json.loads(raw)) if raw else None
        return self._cache.get(poll_id)

    async def _put(self, poll_id: str, info: PollInfo) -> None:
        self._cache[poll_id] = info
        await self._store.set(self._key(poll_id), json.dumps(info.__dict__))

    async def started(self, poll_id: str, info: PollInfo) -> None:
        await self._put(poll_id, info)

    async def ended(self, poll_id: str) -> None:
        info = await self.get(poll_id)
        if info is not None and not info.closed:
            await self._put(
                poll_id, PollInfo(info.room_id, info.options, info.max_selections, closed=True)
            )
