"""Rooms that never became a chapter are left after a while (`leave_unbound_after`).

Anyone may invite the bot (unless `allowed_inviters` says otherwise), and every room it sits
in costs a little on every sync. So a room where nobody ran `!setup` or `!link` is left,
with a word why, `leave_unbound_after` after the bot first saw it there. Direct rooms are
never left. When the bot first saw a room is kept in the state store (`unbound:<room>`), one
write per room, so a restart doesn't start the clock again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from nio import AsyncClient

from bot.adapters.matrix.calls import MatrixCallError, call, raw_call
from bot.adapters.matrix.direct import DirectRooms
from bot.adapters.matrix.messenger import PLATFORM, MatrixMessenger
from bot.adapters.matrix.rooms import RoomDirectory
from bot.adapters.matrix.settings import MatrixSettings
from bot.adapters.matrix.state import StateStore, state_key
from bot.core.i18n import N_
from bot.core.messages import ChatRef
from bot.waiting import wait_set

log = logging.getLogger(__name__)

LEAVING_NOTICE = N_(
    "Nobody made this room a chapter, so I'm leaving it. Invite me again when you want to "
    "set one up with /setup."
)
PREFIX = "unbound:"


class ChapterLookup(Protocol):
    async def is_chapter_chat(self, chat: ChatRef) -> bool: ...


class UnboundRooms:
    def __init__(
        self, client: AsyncClient, settings: MatrixSettings, store: StateStore,
        direct: DirectRooms, rooms: RoomDirectory, messenger: MatrixMessenger,
        core: Callable[[], ChapterLookup | None], clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._settings = settings
        self._store = store
        self._direct = direct
        self._rooms = rooms
        self._messenger = messenger
        self._core = core
        self._clock = clock

    async def run(self, stopping: asyncio.Event, ready: asyncio.Event) -> None:
        """Looks every `unbound_sweep_s`; never ends on its own (errors are logged)."""
        while not stopping.is_set():
            if await wait_set(stopping, self._settings.unbound_sweep_s):
                return
            if not ready.is_set():
                continue
            try:
                await self.sweep()
            except Exception:
                log.exception("matrix: looking for rooms that are no chapter failed")

    async def sweep(self) -> list[str]:
        """Leaves the rooms whose time is up; returns them."""
        core = self._core()
        if core is None:
            return []
        joined: Any = await raw_call(self._client, "joined rooms", "GET",
                                     "/_matrix/client/v3/joined_rooms")
        left = []
        now = self._clock()
        for room_id in joined.get("joined_rooms") or []:
            if not isinstance(room_id, str) or self._direct.is_direct(room_id):
                continue
            key = state_key(PREFIX, room_id)
            if await core.is_chapter_chat(ChatRef(PLATFORM, room_id)):
                continue
            seen = await self._store.get(key)
            if not seen:
                await self._store.set(key, repr(now))
                continue
            if now - float(seen) < self._settings.leave_unbound_after_s:
                continue
            await self._leave(room_id)
            await self._store.set(key, "")
            left.append(room_id)
        return left

    async def _leave(self, room_id: str) -> None:
        log.info("matrix: leaving %s: no chapter was set up there", room_id)
        try:
            await self._messenger.send_text(ChatRef(PLATFORM, room_id),
                                            self._messenger.translate(LEAVING_NOTICE))
        except MatrixCallError as exc:
            log.info("matrix: could not say goodbye in %s: %s", room_id, exc)
        await call("leave", lambda: self._client.room_leave(room_id))
        self._rooms.forget(room_id)
