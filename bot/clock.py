"""Clocks: the real one, and a virtual one the demo and the tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class Wakeable(Protocol):
    async def next_due_at(self) -> datetime | None: ...

    async def run_due(self) -> int: ...


async def advance(core: Wakeable, clock: VirtualClock, delta: timedelta) -> None:
    """Move a virtual clock, waking the core at every moment something falls due on the way,
    in order, as the scheduler would in real time."""
    target = clock.now() + delta
    while (due := await core.next_due_at()) is not None and due <= target:
        clock.set(max(due, clock.now()))
        await core.run_due()
    clock.set(target)
    await core.run_due()
