"""Who the administrators of a group are, from getChatAdministrators, cached per chat.

The cache is corrected by `chat_member` updates (Telegram sends them only to a bot that is
an admin itself) and expires after `ttl` seconds for bots that are not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class AdminCache:
    def __init__(self, fetch: Callable[[int], Awaitable[set[int]]], ttl: float = 600.0) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self._admins: dict[int, tuple[float, set[int]]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        return user_id in await self.admins(chat_id)

    async def admins(self, chat_id: int) -> set[int]:
        cached = self._admins.get(chat_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        async with self._locks.setdefault(chat_id, asyncio.Lock()):
            cached = self._admins.get(chat_id)
            if cached and cached[0] > time.monotonic():
                return cached[1]
            try:
                admins = await self._fetch(chat_id)
            except Exception:
                log.exception("getChatAdministrators failed for chat %s", chat_id)
                return set()
            self._admins[chat_id] = (time.monotonic() + self.ttl, admins)
            return admins

    def update(self, chat_id: int, user_id: int, is_admin: bool) -> None:
        """Apply one admin change that Telegram reported."""
        cached = self._admins.get(chat_id)
        if cached is None:
            return
        if is_admin:
            cached[1].add(user_id)
        else:
            cached[1].discard(user_id)

    def forget(self, chat_id: int) -> None:
        self._admins.pop(chat_id, None)
