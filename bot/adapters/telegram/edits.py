"""Coalescing message edits: the RSVP counts change with every tap, Telegram's limits don't.

Each message is edited at most once per `interval` seconds. An edit asked for sooner waits,
and a newer text replaces the waiting one, so the message ends on the latest state without
an edit per tap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from bot.waiting import wait_set

log = logging.getLogger(__name__)

K = TypeVar("K")
C = TypeVar("C")


class EditCoalescer(Generic[K, C]):
    def __init__(self, apply: Callable[[K, C], Awaitable[None]], interval: float) -> None:
        self._apply = apply
        self.interval = interval
        self._pending: dict[K, C] = {}
        self._last: dict[K, float] = {}
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self._hurry = asyncio.Event()

    def submit(self, key: K, content: C) -> None:
        self._pending[key] = content
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._run(key), name=f"edit {key}")

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def drain(self) -> None:
        """Send what is waiting now, ignoring the interval (used when stopping)."""
        self._hurry.set()
        try:
            while self._tasks:
                await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        finally:
            self._hurry = asyncio.Event()

    async def wait_idle(self) -> None:
        """Wait until every edit asked for so far has been sent (keeping the interval)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _run(self, key: K) -> None:
        try:
            while key in self._pending:
                delay = self._last.get(key, float("-inf")) + self.interval - time.monotonic()
                if delay > 0 and not self._hurry.is_set():
                    await wait_set(self._hurry, delay)
                content = self._pending.pop(key)
                self._last[key] = time.monotonic()
                try:
                    await self._apply(key, content)
                except Exception:
                    log.exception("editing message %s failed", key)
        finally:
            del self._tasks[key]
            self._forget_old()

    def _forget_old(self) -> None:
        if len(self._last) > 4096:
            cutoff = time.monotonic() - self.interval
            for key in [k for k, t in self._last.items() if t < cutoff]:
                del self._last[key]
