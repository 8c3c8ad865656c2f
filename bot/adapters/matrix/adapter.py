"""The Matrix side of the bot: logs in, runs the sync loop as a task, owns the messenger."""

from __future__ import annotations

import asyncio
import logging
import math
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse

from bot.adapters.matrix import calls
from bot.adapters.matrix.calls import NETWORK_ERRORS, Backoff, MatrixCallError, call
from bot.adapters.matrix.crypto import STORE_HASH_KEY, STORE_KEY, Crypto
from bot.adapters.matrix.direct import DirectRooms
from bot.adapters.matrix.inbound import CoreSink, EventRouter
from bot.adapters.matrix.messenger import MatrixMessenger
from bot.adapters.matrix.polls import PollBook
from bot.adapters.matrix.rooms import RoomDirectory
from bot.adapters.matrix.rsvp import RsvpMessages
from bot.adapters.matrix.settings import MatrixSettings
from bot.adapters.matrix.state import StateStore
from bot.adapters.matrix.sync import SyncLoop, TokenRejected
from bot.adapters.matrix.unbound import UnboundRooms

log = logging.getLogger(__name__)

STARTUP_PATIENCE_S = 15.0
PAUSE_GRACE_S = 2.0


class MatrixAdapter:
    """Usage: `adapter = MatrixAdapter(settings, store)`; build the core with
    `adapter.messenger`; `adapter.bind(core)`; `await adapter.start()` ... `await adapter.stop()`.
    """

    def __init__(self, settings: MatrixSettings, store: StateStore) -> None:
        self.settings = settings
        self.store = store
        if settings.store_dir:
            Path(settings.store_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.client = AsyncClient(
            settings.homeserver.rstrip("/"),
            settings.user_id,
            store_path=settings.store_dir or "",
            config=AsyncClientConfig(
                # Rate limits and lost connections are handled (and logged) in calls.py.
                max_limit_exceeded=0,
                max_timeouts=0,
                encryption_enabled=Crypto.wanted(settings),
                store_sync_tokens=False,
                request_timeout=60,
            ),
        )
        self.ready = asyncio.Event()  # logged in and state loaded: sends may go
        self.rooms = RoomDirectory(self.client, settings.organiser_power_level)
        self.crypto = Crypto(self.client, settings, store, self.rooms)
        self.direct = DirectRooms(self.client, self.rooms, settings.dm_invite_timeout_s,
                                  encrypted=Crypto.wanted(settings))
        self.polls = PollBook(store)
        rsvp_messages = RsvpMessages(store)
        self.messenger = MatrixMessenger(
            self.client, settings, self.direct, self.polls, rsvp_messages, self.ready,
            rooms=self.rooms, crypto=self.crypto,
        )
        self.router = EventRouter(
            None, self.messenger, self.rooms, self.direct, self.polls, store, rsvp_messages
        )
        self.sync = SyncLoop(self.client, settings, store, self.router, self.rooms, self.direct,
                             self.crypto)
        self.unbound = UnboundRooms(self.client, settings, store, self.direct, self.rooms,
                                    self.messenger, lambda: self.router.core)
        self._task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def bind(self, core: CoreSink) -> None:
        self.router.core = core
        # Rate limits and retries count in the core's metrics (the operator's /metrics).
        metrics = getattr(core, "metrics", None)
        if metrics is not None:
            calls.on_retry = lambda reason: metrics.retried("matrix", reason)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Logs in and starts the sync task.

        A homeserver that can't be reached is not fatal: the task keeps trying (and logs),
        and the messenger's sends wait for it. A refused login is a config error: it raises.
        """
        if self.router.core is None:
            raise RuntimeError("MatrixAdapter has no core: call adapter.bind(core) before start()")
        self._stopping.clear()
        try:
            await self._connect(give_up_after_s=STARTUP_PATIENCE_S)
        except NETWORK_ERRORS as exc:
            log.warning("matrix: %s not reachable (%r); still trying in the background",
                        self.settings.homeserver, exc)
        self._task = asyncio.create_task(self._run(), name="matrix-sync")
        self._sweeper = asyncio.create_task(self.unbound.run(self._stopping, self.ready),
                                            name="matrix-unbound-rooms")

    async def stop(self, grace_s: float = 10.0) -> None:
        """Lets the batch in hand finish (then its token is saved), then closes. A batch
        cut off is read again at the next start; the core drops what it had done."""
        await self.stop_input(grace_s)
        try:
            await self.sync.save_position()
        except Exception as exc:  # read again at the next start; the core drops repeats
            log.warning("matrix: could not write down the sync position at stop (%r)", exc)
        await self.client.close()

    async def stop_input(self, grace_s: float = 10.0) -> None:
        """Stops syncing; the batch in hand finishes. Sends still go (shutting down)."""
        self._stopping.set()
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            try:
                await sweeper
            except (asyncio.CancelledError, Exception):
                pass
        task, self._task = self._task, None
        if task is not None:
            if self.sync.in_long_poll or not self.ready.is_set():
                task.cancel()
            try:
                await asyncio.wait_for(task, grace_s)
            except (TimeoutError, asyncio.CancelledError):
                pass
            except Exception:
                log.exception("matrix: sync loop ended with an error")

    async def pause_input(self) -> None:
        """Stop syncing because this copy lost the lead; sends still go. A batch cut off is
        read again when syncing resumes (its token was not saved), so no long grace."""
        await self.stop_input(grace_s=PAUSE_GRACE_S)

    async def resume_input(self) -> None:
        """This copy leads again: sync again from the saved token."""
        if self._task is not None:
            return
        self._stopping.clear()
        if self.ready.is_set():
            await self.crypto.hand_over()  # another copy may have used the device meanwhile
        self._task = asyncio.create_task(self._run(), name="matrix-sync")

    async def _connect(self, give_up_after_s: float) -> None:
        await self._log_in(give_up_after_s)
        await self.crypto.open()
        await self.direct.load()
        await self.sync.load()
        self.ready.set()

    async def _run(self) -> None:
        """Never ends on its own: every failure is logged and retried after a wait."""
        backoff = Backoff(first=1.0, cap=60.0)
        while not self._stopping.is_set():
            try:
                if not self.ready.is_set():
                    await self._connect(give_up_after_s=math.inf)
                await self.sync.run(self._stopping)
                continue
            except TokenRejected as exc:
                self.ready.clear()
                if self.settings.password:
                    log.warning("matrix: access token rejected; logging in again")
                    await self.store.set("access_token", "")
                    continue
                log.error("matrix: access token rejected (%s) and no password to log in", exc)
            except MatrixCallError as exc:
                log.error("matrix: %s", exc)
            except NETWORK_ERRORS as exc:
                log.warning("matrix: connection problem (%r)", exc)
            except Exception:
                log.exception("matrix: sync loop failed")
            await asyncio.sleep(backoff.next())

    # -- session ---------------------------------------------------------------------

    async def _log_in(self, give_up_after_s: float) -> None:
        s = self.settings
        stored_user = await self.store.get("user_id")
        if stored_user and stored_user != s.user_id:
            log.warning("matrix: account changed from %s to %s; starting afresh",
                        stored_user, s.user_id)
            for key in ("access_token", "device_id", "next_batch", STORE_KEY, STORE_HASH_KEY):
                await self.store.set(key, "")
        await self.store.set("user_id", s.user_id)
        self.client.user_id = s.user_id

        token = s.access_token or await self.store.get("access_token")
        if token:
            self.client.access_token = token
            try:
                who: object = await call("whoami", self.client.whoami, give_up_after_s=give_up_after_s)
            except MatrixCallError as exc:
                if s.access_token or exc.errcode != "M_UNKNOWN_TOKEN":
                    raise
                log.info("matrix: stored access token no longer valid; logging in")
            else:
                assert isinstance(who, WhoamiResponse)
                self.client.device_id = who.device_id or await self.store.get("device_id") or ""
                return
        assert s.password is not None
        # The same device id on every login, so the account doesn't collect dead devices.
        self.client.device_id = await self.store.get("device_id") or None
        resp: object = await call(
            "login", lambda: self.client.login(s.password, device_name=s.device_name),
            give_up_after_s=give_up_after_s,
        )
        assert isinstance(resp, LoginResponse)
        await self.store.set("access_token", resp.access_token)
        await self.store.set("device_id", resp.device_id)
        log.info("matrix: logged in as %s (device %s)", resp.user_id, resp.device_id)
