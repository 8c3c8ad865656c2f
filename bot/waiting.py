"""Waiting for an event with a time limit, without losing a cancellation.

On Python 3.11, `asyncio.wait_for` can turn a cancellation that arrives as its timeout fires
into a TimeoutError (fixed in 3.12, python/cpython#86296); a loop that swallows the
TimeoutError then never ends, and a shutdown waits for it forever. `asyncio.timeout` tells its
own expiry from a cancellation from outside.
"""

from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; True when it is set."""
    if seconds <= 0:
        return event.is_set()
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        pass
    return event.is_set()
