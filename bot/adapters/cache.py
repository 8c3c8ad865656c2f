"""A bounded cache for the adapters: at most `size` entries, the least recently used dropped
first, each entry optionally expiring after `ttl` seconds. Every per-chat, per-room or
per-person memory an adapter keeps goes through one, so a bot in many chats (or one invited
to many rooms by someone hostile) holds a known amount."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    def __init__(self, size: int, ttl: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if size < 1:
            raise ValueError("a cache holds at least one entry")
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K, default: V | None = None) -> V | None:
        item = self._items.get(key)
        if item is None:
            return default
        if item[0] < self._clock():
            del self._items[key]
            return default
        self._items.move_to_end(key)
        return item[1]

    def __contains__(self, key: object) -> bool:
        item = self._items.get(key)  # type: ignore[arg-type]
        return item is not None and item[0] >= self._clock()

    def __setitem__(self, key: K, value: V) -> None:
        expires = self._clock() + self.ttl if self.ttl is not None else float("inf")
        self._items[key] = (expires, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def pop(self, key: K) -> V | None:
        item = self._items.pop(key, None)
        return None if item is None else item[1]

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._items))
