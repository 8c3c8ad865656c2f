"""One place that turns homeserver answers into results or exceptions, and waits out faults.

nio is configured not to retry by itself (max_limit_exceeded=0, max_timeouts=0) so that
rate limits and lost connections are handled, and logged, here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from nio import AsyncClient, ErrorResponse, Response

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Response)

NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    asyncio.TimeoutError,
    ConnectionError,
    OSError,
)


def _nobody(_reason: str) -> None:
    return None


# Told of each call tried again: "rate_limited" (M_LIMIT_EXCEEDED or 429), "network" or
# "server_error". The operator's metrics: MatrixAdapter.bind sets it from the core's
# (bot/web/metrics.py). One hook for the module, as one process serves one Matrix account.
on_retry: Callable[[str], None] = _nobody


class MatrixCallError(Exception):
    """The homeserver refused a request for a reason waiting won't fix."""

    def __init__(self, what: str, errcode: str | None, message: str) -> None:
        super().__init__(f"{what}: {errcode or '?'} {message}")
        self.errcode = errcode
        self.message = message


def retry_after_s(ms: object, default: float = 1.0) -> float:
    return max(ms / 1000, 0.05) if isinstance(ms, (int, float)) and ms > 0 else default


class Backoff:
    """Doubling waits between first and cap, for lost connections."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first, self.cap = first, cap
        self._next = first

    def next(self) -> float:
        wait, self._next = self._next, min(self._next * 2, self.cap)
        return wait

    def reset(self) -> None:
        self._next = self.first


class _Retry:
    """The waiting policy shared by `call` and `raw_call`."""

    def __init__(self, what: str, give_up_after_s: float) -> None:
        self.what = what
        self.backoff = Backoff()
        self.deadline = time.monotonic() + give_up_after_s

    async def lost_connection(self, exc: BaseException) -> None:
        if time.monotonic() > self.deadline:
            raise exc
        wait = self.backoff.next()
        on_retry("network")
        log.warning("matrix %s: connection problem (%r); retry in %.1fs", self.what, exc, wait)
        await asyncio.sleep(wait)

    async def rate_limited(self, retry_after_ms: object) -> None:
        wait = retry_after_s(retry_after_ms)
        on_retry("rate_limited")
        log.info("matrix %s: rate limited (M_LIMIT_EXCEEDED); waiting %.2fs", self.what, wait)
        await asyncio.sleep(wait)

    async def server_error(self, status: int) -> bool:
        """A proxy in front of a restarting homeserver answers 502/503/504: wait for it."""
        if status < 500 or time.monotonic() > self.deadline:
            return False
        wait = self.backoff.next()
        on_retry("server_error")
        log.warning("matrix %s: server error %s; retry in %.1fs", self.what, status, wait)
        await asyncio.sleep(wait)
        return True


async def call(
    what: str,
    request: Callable[[], Awaitable[R | ErrorResponse]],
    *,
    give_up_after_s: float = 300.0,
) -> R:
    """Runs a nio request until it succeeds; rate limits and lost connections are retried.

    Callers that send events pass a fixed transaction id inside `request`, so a retry after
    a connection lost mid-request can't post the same message twice.
    """
    retry = _Retry(what, give_up_after_s)
    while True:
        try:
            resp = await request()
        except NETWORK_ERRORS as exc:
            await retry.lost_connection(exc)
            continue
        if isinstance(resp, ErrorResponse):
            status = getattr(resp.transport_response, "status", None)
            if resp.status_code == "M_LIMIT_EXCEEDED" or status == 429:
                await retry.rate_limited(resp.retry_after_ms)
                continue
            if isinstance(status, int) and await retry.server_error(status):
                continue
            raise MatrixCallError(what, resp.status_code, resp.message)
        return resp


async def raw_call(
    client: AsyncClient,
    what: str,
    method: str,
    path: str,
    body: object = None,
    *,
    give_up_after_s: float = 300.0,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """A client-server API request nio has no method for, with the same retries."""
    retry = _Retry(what, give_up_after_s)
    headers = {
        "Authorization": f"Bearer {client.access_token}",
        "Content-Type": "application/json",
    }
    data = json.dumps(body) if body is not None else None
    while True:
        try:
            resp = await client.send(method, path, data, headers, timeout=timeout_s)
            text = await resp.text()
        except NETWORK_ERRORS as exc:
            await retry.lost_connection(exc)
            continue
        try:
            payload = json.loads(text) if text else {}
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        if resp.status == 429 or payload.get("errcode") == "M_LIMIT_EXCEEDED":
            await retry.rate_limited(payload.get("retry_after_ms"))
            continue
        if await retry.server_error(resp.status):
            continue
        if resp.status >= 400:
            raise MatrixCallError(what, payload.get("errcode"), str(payload.get("error", "")))
        return payload
