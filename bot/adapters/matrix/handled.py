"""Which events the core has been handed, per room, so a re-read batch is not re-answered.

Before the core sees an event it is recorded as in flight; after the core returns, as done.
The sync token is only saved after a whole batch, so after a crash the batch is read again:
- a done event is skipped;
- an event still in flight (the crash hit while the core was on it) counts as answered if
  the bot posted anything in that room after it, and is handed to the core again if not.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from bot.adapters.matrix.state import StateStore, state_key

KEEP_PER_ROOM = 100


class _Room:
    def __init__(self, done: Sequence[str], in_flight: str | None, keep: int) -> None:
        self.done: deque[str] = deque(done, maxlen=keep)
        self.in_flight = in_flight

    def dump(self) -> str:
        return json.dumps({"done": list(self.done), "in_flight": self.in_flight})


class HandledLog:
    def __init__(self, store: StateStore, keep: int = KEEP_PER_ROOM) -> None:
        self._store = store
        self._keep = keep
        self._rooms: dict[str, _Room] = {}

    async def _room(self, room_id: str) -> _Room:
        room = self._rooms.get(room_id)
        if room is None:
            raw = await self._store.get(state_key("handled:", room_id))
            data = json.loads(raw) if raw else {}
            room = _Room(data.get("done", []), data.get("in_flight"), self._keep)
            self._rooms[room_id] = room
        return room

    async def _save(self, room_id: str, room: _Room) -> None:
        await self._store.set(state_key("handled:", room_id), room.dump())

    async def should_handle(
        self, room_id: str, event_id: str, answered_after: Callable[[], Awaitable[bool]]
    ) -> bool:
        """False when the event was handled before a restart."""
        room = await self._room(room_id)
        if event_id in room.done:
            return False
        if room.in_flight == event_id and await answered_after():
            await self.finish(room_id, event_id)  # answered just before the crash
            return False
        return True

    async def begin(self, room_id: str, event_id: str) -> None:
        room = await self._room(room_id)
        room.in_flight = event_id
        await self._save(room_id, room)

    async def finish(self, room_id: str, event_id: str) -> None:
        room = await self._room(room_id)
        room.done.append(event_id)
        if room.in_flight == event_id:
            room.in_flight = None
        await self._save(room_id, room)
