"""The rate limiter on its own: windows kept, 429s paused for, nothing dropped."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.adapters.telegram import FloodLimits, Rate, TelegramRateLimiter


class Recorder:
    """Stands in for the HTTP call: records when each request went out."""

    def __init__(self, refuse: dict[int, int] | None = None) -> None:
        self.sent: list[tuple[float, Any]] = []
        self.refuse = dict(refuse or {})  # n-th call -> retry_after to answer with
        self.calls = 0

    async def __call__(self, endpoint: str, data: dict[str, Any]) -> bool:
        n, self.calls = self.calls, self.calls + 1
        if n in self.refuse:
            raise RetryAfter(self.refuse[n])
        self.sent.append((time.monotonic(), data.get("chat_id")))
        return True


async def send(
    limiter: TelegramRateLimiter, rec: Recorder, chat_id: int | None, method: str = "sendMessage"
) -> Any:
    data = {"chat_id": chat_id} if chat_id is not None else {}
    return await limiter.process_request(rec, (method, data), {}, method, data, None)


def max_in_window(times: list[float], period: float) -> int:
    return max(sum(1 for u in times if t <= u < t + period) for t in times)


async def test_group_and_chat_windows() -> None:
    limiter = TelegramRateLimiter(
        FloodLimits(overall=None, per_chat=Rate(1, 0.05), per_group=Rate(3, 0.3), slack=0.0)
    )
    rec = Recorder()
    await asyncio.gather(*(send(limiter, rec, -100) for _ in range(7)))
    times = [t for t, _ in rec.sent]
    assert len(times) == 7
    assert max_in_window(times, 0.3) <= 3
    assert all(b - a >= 0.05 for a, b in itertools.pairwise(times))


async def test_overall_window_across_chats() -> None:
    limiter = TelegramRateLimiter(FloodLimits(overall=Rate(5, 0.2), per_chat=None, per_group=None, slack=0.0))
    rec = Recorder()
    await asyncio.gather(*(send(limiter, rec, chat) for chat in range(1, 21)))
    times = sorted(t for t, _ in rec.sent)
    assert len(times) == 20 and max_in_window(times, 0.2) <= 5
    assert times[-1] - times[0] >= 0.6  # 20 at 5 per 0.2 s


async def test_other_methods_are_not_counted() -> None:
    limiter = TelegramRateLimiter(FloodLimits(overall=Rate(1, 10.0)))
    rec = Recorder()
    started = time.monotonic()
    for _ in range(5):
        await send(limiter, rec, None, "answerCallbackQuery")
        await send(limiter, rec, -5, "getChatAdministrators")
    assert time.monotonic() - started < 0.5


async def test_retry_after_pauses_everything_and_retries() -> None:
    limiter = TelegramRateLimiter(FloodLimits(overall=None, per_chat=None, per_group=None))
    rec = Recorder(refuse={0: 1})
    first = asyncio.create_task(send(limiter, rec, 1))
    await asyncio.sleep(0.05)  # the 429 has come back: everything waits now
    others = [asyncio.create_task(send(limiter, rec, chat)) for chat in (2, 3)]
    callback = asyncio.create_task(send(limiter, rec, None, "answerCallbackQuery"))
    started = time.monotonic()
    assert await first is True
    await asyncio.gather(*others, callback)
    assert len(rec.sent) == 4 and limiter.retries == 1
    assert min(t for t, _ in rec.sent) - started >= 0.9


async def test_the_latest_retry_after_wins() -> None:
    limiter = TelegramRateLimiter(FloodLimits(overall=None, per_chat=None, per_group=None))
    rec = Recorder(refuse={0: 2, 1: 1})
    started = time.monotonic()
    await asyncio.gather(send(limiter, rec, 1), send(limiter, rec, 2))
    # The shorter pause ending must not let anything through before the longer one ends.
    assert min(t for t, _ in rec.sent) - started >= 2.0


async def test_max_retries() -> None:
    limiter = TelegramRateLimiter(FloodLimits(overall=None, per_chat=None, per_group=None, max_retries=0))
    with pytest.raises(RetryAfter):
        await send(limiter, Recorder(refuse={0: 1}), 1)


async def test_overall_requests_are_spread_evenly() -> None:
    limiter = TelegramRateLimiter(
        FloodLimits(overall=Rate(5, 0.2, spread=True), per_chat=None, per_group=None, slack=0.0)
    )
    rec = Recorder()
    await asyncio.gather(*(send(limiter, rec, chat) for chat in range(1, 11)))
    times = sorted(t for t, _ in rec.sent)
    assert all(b - a >= 0.039 for a, b in itertools.pairwise(times))


async def test_the_limiter_says_how_long_a_chat_is_at_its_limit() -> None:
    limiter = TelegramRateLimiter(
        FloodLimits(overall=None, per_chat=Rate(1, 0.05), per_group=Rate(3, 1.0), slack=0.0))
    rec = Recorder()
    assert limiter.chat_ready_in(-100) == 0.0  # never written to
    await asyncio.gather(*(send(limiter, rec, -100) for _ in range(3)))
    assert 0.5 < limiter.chat_ready_in(-100) <= 1.0  # its three a second are used up
    assert limiter.chat_ready_in(-200) == 0.0  # another group is free
    await send(limiter, rec, 42)
    assert 0.0 < limiter.chat_ready_in(42) <= 0.05  # a private chat: one a 0.05 s
