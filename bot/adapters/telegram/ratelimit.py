"""One rate limiter for every Bot API call, kept to Telegram's flood limits.

Telegram's bots FAQ: about 30 messages a second overall, no more than one a second in a
chat, no more than 20 a minute in a group; beyond that, 429 with `retry_after`.

PTB's `AIORateLimiter` is the model, but it does not fit as is: it has no per-chat limit for
private chats; its leaky buckets let 30 messages through at once *and then* 30 a second, so
a server that counts "30 in any second" refuses some; and when two requests get a 429
together, the first to finish waiting lets everything go again while the other's
`retry_after` still runs. This limiter keeps "at most N in any T seconds" windows (what a
strict server checks), pauses every request for a `retry_after` until the latest one ends,
and retries the refused request after it, so a 429 never loses a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

# Methods that post or change a message: the ones Telegram's message limits count.
# Methods that post something new: repeating one whose answer was lost could post it twice.
POSTING_METHODS = frozenset(
    m.lower()
    for m in ("sendMessage", "sendPoll", "sendDocument", "sendPhoto", "forwardMessage", "copyMessage")
)
# Failures that mean the request never reached Telegram.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

MESSAGE_METHODS = frozenset(
    m.lower()
    for m in (
        "sendMessage",
        "sendPoll",
        "sendDocument",
        "sendPhoto",
        "forwardMessage",
        "copyMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
        "stopPoll",
    )
)


@dataclass(frozen=True)
class Rate:
    count: int
    period: float  # seconds
    # Space requests evenly (period / count apart) instead of letting `count` go at once:
    # a burst of simultaneous requests reaches Telegram spread out by a few ms each, and
    # the stragglers would fall into the next window.
    spread: bool = False


@dataclass(frozen=True)
class FloodLimits:
    overall: Rate | None = Rate(30, 1.0, spread=True)
    per_chat: Rate | None = Rate(1, 1.0)
    per_group: Rate | None = Rate(20, 60.0)
    # Added to every period: our clock stamps a request when it leaves, Telegram's when it
    # arrives, and the two gaps differ by a few milliseconds.
    slack: float = 0.04
    # How often one request is retried after a 429; None: until it goes through.
    max_retries: int | None = None
    # A network failure (Telegram out of reach, a timeout) is retried this often, waiting
    # `network_backoff` seconds, doubling up to 8 s: about half a minute in all.
    network_retries: int = 6
    network_backoff: float = 0.5

    def scaled(self, factor: float) -> FloodLimits:
        def s(r: Rate | None) -> Rate | None:
            return None if r is None else replace(r, period=r.period * factor)

        return replace(self, overall=s(self.overall), per_chat=s(self.per_chat), per_group=s(self.per_group))


class _Window:
    """Send times of the last `count` requests in one scope."""

    def __init__(self, rate: Rate, slack: float) -> None:
        self.period = rate.period + slack
        self.gap = self.period / rate.count if rate.spread else 0.0
        self.stamps: deque[float] = deque(maxlen=rate.count)

    def free_at(self) -> float:
        if not self.stamps:
            return 0.0
        spaced = self.stamps[-1] + self.gap
        if len(self.stamps) < (self.stamps.maxlen or 0):
            return spaced
        return max(spaced, self.stamps[0] + self.period)

    def idle(self, now: float) -> bool:
        return not self.stamps or self.stamps[-1] + self.period <= now


class _ChatLock:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


async def _sleep_until(deadline: Callable[[], float]) -> None:
    # The loop may wake a timer slightly early, so look again after each sleep.
    while True:
        wait = deadline() - time.monotonic()
        if wait <= 0:
            return
        await asyncio.sleep(wait)


def _nobody(_reason: str) -> None:
    return None


def _seconds(exc: RetryAfter) -> float:
    # `retry_after` warns about its int/timedelta change; the private field is a timedelta.
    value: Any = getattr(exc, "_retry_after", None)
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    with contextlib.suppress(TypeError, ValueError):
        return float(value)
    return 1.0


class TelegramRateLimiter(BaseRateLimiter[int]):
    def __init__(self, limits: FloodLimits | None = None) -> None:
        self.limits = limits or FloodLimits()
        self._overall = _Window(self.limits.overall, self.limits.slack) if (self.limits.overall) else None
        self._windows: dict[tuple[str, int | str], _Window] = {}
        self._chat_locks: dict[int | str, _ChatLock] = {}
        self._gate = asyncio.Lock()
        self._paused_until = 0.0
        self.retries = 0  # how many 429s were waited out (for logs and tests)
        # Told of each request tried again, "rate_limited" (a 429) or "network": the
        # operator's metrics (the adapter sets it from the core's, bot/web/metrics.py).
        self.on_retry: Callable[[str], None] = _nobody

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = _chat_key(data.get("chat_id"))
        counted = chat_id is not None and endpoint.lower() in MESSAGE_METHODS
        max_retries = rate_limit_args if rate_limit_args is not None else self.limits.max_retries
        attempt = 0
        network_attempt = 0
        while True:
            if counted:
                assert chat_id is not None
                await self._admit(chat_id)
            else:
                await _sleep_until(lambda: self._paused_until)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if max_retries is not None and attempt >= max_retries:
                    raise
                attempt += 1
                self.retries += 1
                self.on_retry("rate_limited")
                wait = _seconds(exc) + self.limits.slack
                log.warning("Telegram flood limit on %s: waiting %.1f s", endpoint, wait)
                self._paused_until = max(self._paused_until, time.monotonic() + wait)
            except NetworkError as exc:
                if not _may_repeat(exc, endpoint) or network_attempt >= self.limits.network_retries:
                    raise
                wait = min(8.0, self.limits.network_backoff * 2**network_attempt)
                network_attempt += 1
                self.on_retry("network")
                log.warning("Telegram unreachable on %s (%s): trying again in %.1f s", endpoint, exc, wait)
                await asyncio.sleep(wait)

    async def _admit(self, chat_id: int | str) -> None:
        """Wait until a message to `chat_id` keeps every window, then count it."""
        windows = self._chat_windows(chat_id)
        entry = self._chat_locks.setdefault(chat_id, _ChatLock())
        entry.users += 1
        try:
            async with entry.lock:
                # Holding the chat's lock, nobody else fills its windows while we wait for
                # the bot-wide window and any pause.
                await _sleep_until(lambda: max((w.free_at() for w in windows), default=0.0))
                async with self._gate:
                    await _sleep_until(self._gate_free_at)
                    now = time.monotonic()
                    for w in windows:
                        w.stamps.append(now)
                    if self._overall:
                        self._overall.stamps.append(now)
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._chat_locks[chat_id]
        if len(self._windows) > 2048:
            self._forget_idle_windows()

    def chat_ready_in(self, chat_id: int | str) -> float:
        """Seconds until a message to `chat_id` would keep the chat's own windows (0: now);
        a message already waiting for the chat counts as one more ahead."""
        windows = [self._windows.get((kind, chat_id)) for kind in ("chat", "group")]
        free_at = max((w.free_at() for w in windows if w is not None), default=0.0)
        entry = self._chat_locks.get(chat_id)
        if entry is not None and entry.users:
            gaps = [w.gap or w.period / (w.stamps.maxlen or 1) for w in windows if w is not None]
            free_at = max(free_at, time.monotonic()) + entry.users * max(gaps, default=0.0)
        return max(0.0, free_at - time.monotonic())

    def _gate_free_at(self) -> float:
        overall = self._overall.free_at() if self._overall else 0.0
        return max(overall, self._paused_until)

    def _chat_windows(self, chat_id: int | str) -> list[_Window]:
        found = []
        is_group = isinstance(chat_id, str) or chat_id < 0
        for kind, rate in (("chat", self.limits.per_chat), ("group", self.limits.per_group)):
            if rate is None or (kind == "group" and not is_group):
                continue
            window = self._windows.get((kind, chat_id))
            if window is None:
                window = self._windows[(kind, chat_id)] = _Window(rate, self.limits.slack)
            found.append(window)
        return found

    def _forget_idle_windows(self) -> None:
        now = time.monotonic()
        for key in [k for k, w in self._windows.items() if w.idle(now)]:
            if key[1] not in self._chat_locks:
                del self._windows[key]


def _may_repeat(exc: NetworkError, endpoint: str) -> bool:
    """Whether a request that failed on the network can be sent again without harm."""
    if isinstance(exc, BadRequest):  # Telegram's answer, not the network's
        return False
    if isinstance(exc.__cause__, _NOT_SENT):
        return True
    # The request may have arrived: repeat only what does no harm twice (an edit, a toast,
    # stopPoll, a lookup), never a new post.
    return endpoint.lower() not in POSTING_METHODS


def _chat_key(chat_id: object) -> int | str | None:
    """Chat ids as ints; `@channelname` strings stay strings (always a group or channel)."""
    if chat_id is None:
        return None
    with contextlib.suppress(TypeError, ValueError):
        return int(chat_id)  # type: ignore[call-overload]
    return str(chat_id)
