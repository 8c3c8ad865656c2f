"""Every cache an adapter keeps has a bound: a hostile stream of ids can't grow it."""

from __future__ import annotations

from bot.adapters.cache import BoundedCache
from bot.adapters.matrix.polls import CACHED_POLLS, PollBook, PollInfo
from bot.adapters.matrix.rsvp import RsvpMessages
from bot.adapters.matrix.state import MemoryStateStore


def test_the_cache_drops_the_least_recently_used_and_the_expired() -> None:
    now = [0.0]
    cache: BoundedCache[str, int] = BoundedCache(2, ttl=10, clock=lambda: now[0])
    cache["a"], cache["b"] = 1, 2
    assert cache.get("a") == 1  # "a" is used: "b" goes first
    cache["c"] = 3
    assert list(cache) == ["a", "c"] and "b" not in cache
    now[0] = 11
    assert cache.get("a") is None and "c" not in cache


async def test_responses_to_made_up_poll_ids_cost_a_bounded_memory() -> None:
    store = MemoryStateStore()
    book = PollBook(store)
    await book.started("$real", PollInfo("!room", 2, 1))
    for n in range(CACHED_POLLS * 3):
        assert await book.get(f"$made-up-{n}") is None
    assert len(book._cache) == CACHED_POLLS
    assert await book.get("$real") == PollInfo("!room", 2, 1)  # read back from the store


async def test_reactions_under_made_up_messages_cost_a_bounded_memory() -> None:
    messages = RsvpMessages(MemoryStateStore())
    await messages.add("$announcement")
    for n in range(25_000):
        assert not await messages.contains(f"$chatter-{n}")
    assert len(messages._known) == 10_000
    assert await messages.contains("$announcement")
