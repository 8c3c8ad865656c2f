"""The web server: an aiohttp application in its own thread with its own event loop, so a
slow page or a crowd at the wall doesn't hold up the bot, and the bot's bursts don't hold up
the pages. It opens its own database engine (an engine belongs to one loop).

Each part adds its routes: `ops` (/healthz, /readyz), and the parts of the later steps of
issue 13 register theirs in `PARTS` the same way."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.clock import SystemClock
from bot.core.ports import Clock
from bot.db.session import Database
from bot.readiness import Readiness
from bot.web import feeds, limits, ops, pages, photos, wall
from bot.web.metrics import Prometheus
from bot.web.settings import WebSettings
from bot.web.site import Site

log = logging.getLogger(__name__)

PARTS: list[Callable[[Site], list[web.RouteDef]]] = [ops.routes, pages.routes, feeds.routes,
                                                     wall.routes]


def make_app(site: Site) -> web.Application:
    # Bounded: a request's size (client_max_size) and each client's rate (limits.py).
    app = web.Application(client_max_size=site.settings.max_body_bytes,
                          middlewares=[limits.per_client(site.settings, site.metrics)])
    for part in PARTS:
        app.add_routes(part(site))
    return app


class WebServer:
    """`server.start()` (returns once it listens), `server.publish(event)` from any thread,
    `server.stop()`."""

    def __init__(self, settings: WebSettings, database_url: str,
                 readiness: Readiness | None = None, *, metrics: Prometheus | None = None,
                 clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()  # the demo's and the tests' virtual one
        self.database_url = database_url
        self.readiness = readiness
        # The core's metrics, to serve at /metrics (a registry of its own when not given).
        self.metrics = metrics if metrics is not None else Prometheus()
        self.site: Site | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failed: BaseException | None = None
        self.photo_dir = settings.photo_dir or default_photo_dir(database_url)

    # --- the core's WallBus (bot/core/ports.py) ------------------------------------------------

    @property
    def blocklist(self) -> Sequence[str]:
        return self.settings.wall_blocklist

    def wall_url(self, wall_id: str) -> str | None:
        return f"{self.settings.public_url.rstrip('/')}/w/{wall_id}"

    async def save_photo(self, name: str, data: bytes, side: int | None = None) -> bool:
        return await asyncio.to_thread(photos.store, self.photo_dir, name, data,
                                       side or photos.MAX_SIDE)

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def start(self, timeout: float = 30.0) -> None:
        self._thread = threading.Thread(target=self._main, name="irl-web", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the web server did not start in time")
        if self._failed is not None:
            raise RuntimeError(f"the web server could not start: {self._failed}") from self._failed

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def publish(self, event: dict[str, Any]) -> None:
        """Hand a live event (a wall post, a count that changed) to the pages' listeners,
        from the bot's thread."""
        site, loop = self.site, self._loop
        if site is None or loop is None:
            return
        for listener in list(site.listeners):
            loop.call_soon_threadsafe(listener, event)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(), or logged once it had started
            if not self._ready.is_set():
                self._failed = exc
                self._ready.set()
            else:
                log.exception("the web server stopped")

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        db = Database(self.database_url)
        self.site = Site(self.settings, db, self.readiness, loop=self._loop,
                         metrics=self.metrics, clock=self.clock, photo_dir=self.photo_dir)
        runner = web.AppRunner(make_app(self.site), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.settings.host, self.settings.port).start()
            log.info("web: serving %s (public address %s)", self.url, self.settings.public_url)
            self._ready.set()
            await self._stop.wait()
        finally:
            for listener in list(self.site.listeners):  # open streams end (the wall's pages)
                listener({"type": "shutdown"})
            await runner.cleanup()
            await db.dispose()


def default_photo_dir(database_url: str) -> Path:
    """Beside an SQLite database file; else "wall-photos" in the working directory."""
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        return Path(database_url[len(prefix):]).resolve().parent / "wall-photos"
    return Path("wall-photos").resolve()
