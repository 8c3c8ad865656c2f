"""Request bounds (issue 13, item 6). The size of a request is bounded by the application
(`client_max_size`, WebSettings.max_body_bytes); its rate here: a token bucket per client
address, `requests_per_second` filling up to `request_burst`. A request finding its bucket
empty gets 429 with Retry-After (whole seconds) and costs nothing more; unknown paths are
counted too, so a scanner is slowed like anyone else.

The client address is the connection's peer. Behind a reverse proxy on the same machine (the
peer is a loopback address) it is the last address in X-Forwarded-For, the one that proxy
saw; the header is not believed from anyone else, who could put any address in it.

A venue's Wi-Fi puts many phones behind one address: the burst lets a page and its images
through for each, and a crowd that still hits the limit shows in
`irl_web_rate_limited_total` (then raise the two settings)."""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.web.metrics import Prometheus
from bot.web.settings import WebSettings

# How many client addresses are remembered at most; beyond that the longest quiet are
# forgotten (a flood from many addresses can't grow the table without end).
MAX_CLIENTS = 10_000


class Buckets:
    """Token buckets by client: `take(client)` is 0.0 when the request may go, else the
    seconds until it may. Used from one event loop only."""

    def __init__(self, rate: float, burst: int, now: Callable[[], float] = time.monotonic,
                 max_clients: int = MAX_CLIENTS) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate above 0 and a burst of at least 1")
        self.rate, self.burst = rate, float(burst)
        self._now = now
        self.max_clients = max_clients
        # client -> (tokens left, when counted); the least recently seen first.
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str) -> float:
        now = self._now()
        tokens, stamp = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.max_clients:
            self._forget(now)
        return wait

    def _forget(self, now: float) -> None:
        """Drop the buckets that are full again (they are as good as new), then, if still too
        many, the least recently seen."""
        full = [c for c, (tokens, stamp) in self._buckets.items()
                if tokens + (now - stamp) * self.rate >= self.burst]
        for client in full:
            del self._buckets[client]
        for client in list(self._buckets)[:max(0, len(self._buckets) - self.max_clients)]:
            del self._buckets[client]

    def __len__(self) -> int:
        return len(self._buckets)


def client_of(request: web.Request) -> str:
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and _is_loopback(peer):
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return peer


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def per_client(settings: WebSettings, metrics: Prometheus | None = None) -> Middleware:
    """The middleware: 429 with Retry-After for a client over its rate."""
    buckets = Buckets(settings.requests_per_second, settings.request_burst)

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        wait = buckets.take(client_of(request))
        if wait > 0:
            if metrics is not None:
                metrics.web_rate_limited.inc()
            return web.Response(status=429, text="Too many requests: try again in a moment.\n",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return await handler(request)

    return limit
