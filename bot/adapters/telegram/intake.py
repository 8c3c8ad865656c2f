"""How updates come in, and why they are never confirmed before they are stored.

python-telegram-bot's Updater confirms a `getUpdates` batch (the next call's offset) and
answers a webhook post before the updates are handled; Telegram never sends an update again
once it is confirmed, so a crash lost what was still queued. Both intakes here hand each
update to `receive` (store in the inbox, then hand over to the Application) and confirm it
to Telegram only once `receive` returned: the poller by the offset of its next call, the
webhook server by answering 200. When `receive` fails (the database is unreachable) the
poller asks for the same batch again after a pause, and the webhook answers 500, so
Telegram posts the update again.

Each update is read on its own: one python-telegram-bot can't read (a shape newer or older
than it knows) is stored as it came and marked failed, with a log line naming it, instead of
failing its whole batch, which Telegram would then offer again and again while every chat
waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram import Bot, Update
from telegram.error import InvalidToken, RetryAfter, TelegramError, TimedOut
from tornado.httpserver import HTTPServer

log = logging.getLogger(__name__)

# Stores (update_id, update, raw JSON) and hands the updates over (None: one that can't be
# read, stored as failed); raises when they were not stored.
Receive = Callable[[Sequence[tuple[int, Update | None, str]]], Awaitable[None]]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CONFIRM_AT_STOP_S = 5.0
_READ_SLACK = 5.0  # seconds past a long poll's timeout before the request counts as lost


def read_update(data: dict[str, Any], bot: Bot, raw: str | None = None
                ) -> tuple[int, Update | None, str]:
    """One update as python-telegram-bot reads it, or None (logged) when it can't."""
    raw = raw if raw is not None else json.dumps(data, ensure_ascii=False)
    update_id = int(data["update_id"])
    try:
        return update_id, Update.de_json(data, bot), raw
    except Exception as exc:
        log.error("telegram update %s cannot be read (%r); stored and skipped: %.300s",
                  update_id, exc, raw)
        return update_id, None, raw


async def get_raw_updates(bot: Bot, **params: Any) -> list[dict[str, Any]]:
    """getUpdates, its answer left as JSON (`Bot.get_updates` reads the whole batch at once,
    and one update it can't read fails them all)."""
    timeout = params.get("timeout") or 0
    result = await bot._post("getUpdates", params, read_timeout=timeout + _READ_SLACK)
    return list(result) if isinstance(result, list) else []


def _seconds(exc: RetryAfter) -> float:
    value: Any = exc.retry_after
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


class Poller:
    """Long polling, as python-telegram-bot's Updater does it, but confirming a batch only
    after it is stored.

    Errors are handled like the Updater's network loop: a timeout polls again at once, a
    flood wait sleeps `retry_after` + 0.5 s, an invalid token stops polling, and any other
    Bot API or network error (or a failed store) waits 1 s, then 1.5 times longer each time,
    up to 30 s. (The rate limiter below already retries a network blip a few times.)
    """

    def __init__(
        self, bot: Bot, receive: Receive, *, timeout: int, allowed_updates: Sequence[str],
    ) -> None:
        self.bot = bot
        self.receive = receive
        self.timeout = timeout
        self.allowed_updates = list(allowed_updates)
        self.offset: int | None = None  # the next getUpdates offset: confirms what is below
        self._confirmed: int | None = None  # the offset Telegram was last sent
        self._running = False
        self._interruptible = False  # waiting on Telegram or pausing: safe to cancel
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # No webhook may be set while polling (Telegram answers 409); the Updater does this too.
        await self.bot.delete_webhook()
        self._running = True
        self._task = asyncio.create_task(self._loop(), name="telegram polling")

    async def stop(self, confirm: bool = True) -> None:
        """Stop polling; a batch being stored is stored and handed over first. Without
        `confirm` (this copy lost the lead: another may be polling now) Telegram is not asked
        again; the next copy to poll gets the last batch once more and skips it as stored."""
        self._running = False
        task, self._task = self._task, None
        if task is None:
            return
        if self._interruptible:
            task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):  # logged by the loop
            await task
        if confirm and self.offset is not None and self.offset != self._confirmed:
            # Confirm the last stored batch, so the next start does not fetch it again
            # (it would be skipped as already stored anyway). Not worth waiting long for.
            try:
                await asyncio.wait_for(
                    get_raw_updates(self.bot, offset=self.offset, limit=1, timeout=0,
                                    allowed_updates=self.allowed_updates),
                    CONFIRM_AT_STOP_S,
                )
            except (TelegramError, TimeoutError) as exc:
                log.info("could not confirm the last updates at stop (%r); they are stored", exc)

    async def _pause(self, seconds: float) -> None:
        if not self._running:
            return  # stopped while a batch was being stored: no pause before the end
        self._interruptible = True
        try:
            await asyncio.sleep(seconds)
        finally:
            self._interruptible = False

    async def _loop(self) -> None:
        pause = 0.0
        while self._running:
            try:
                self._interruptible = True
                try:
                    updates = await get_raw_updates(
                        self.bot,
                        offset=self.offset,
                        timeout=self.timeout,
                        allowed_updates=self.allowed_updates,
                    )
                finally:
                    self._interruptible = False
                self._confirmed = self.offset
                if updates:
                    batch = [read_update(u, self.bot) for u in updates]
                    await self.receive(batch)
                    self.offset = batch[-1][0] + 1
                pause = 0.0
                continue
            except RetryAfter as exc:
                pause = _seconds(exc) + 0.5
                log.warning("getUpdates: flood limit, polling again in %.1f s", pause)
            except TimedOut:
                pause = 0.0
                continue
            except InvalidToken:
                log.exception("getUpdates: the token was refused; polling stops")
                raise
            except TelegramError as exc:
                pause = 1.0 if pause == 0 else min(30.0, 1.5 * pause)
                log.warning("getUpdates failed (%s); polling again in %.1f s", exc, pause)
            except Exception:
                pause = 1.0 if pause == 0 else min(30.0, 1.5 * pause)
                log.exception("could not store Telegram updates; asking for them again in "
                              "%.1f s", pause)
            await self._pause(pause)


class _Hook(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(self, server: WebhookServer) -> None:
        self.server = server

    async def post(self) -> None:
        server = self.server
        if server.secret_token:
            token = self.request.headers.get(SECRET_HEADER)
            if token != server.secret_token:
                log.warning("webhook post without the right secret token refused")
                raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        raw = self.request.body.decode("utf-8", errors="replace")
        try:
            data = json.loads(raw)
            int(data["update_id"])
        except Exception as exc:
            log.error("webhook post that is no Telegram update refused: %.200r", raw)
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST) from exc
        received = read_update(data, server.bot, raw)  # an unreadable one is stored as failed
        try:
            await server.receive([received])
        except Exception as exc:
            # Not stored: Telegram posts it again later.
            log.exception("could not store Telegram update %s; answering 500", received[0])
            raise tornado.web.HTTPError(HTTPStatus.INTERNAL_SERVER_ERROR) from exc
        self.set_status(HTTPStatus.OK)
        await self.finish()

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if not isinstance(value, tornado.web.HTTPError):  # those are logged above
            super().log_exception(typ, value, tb)


class WebhookServer:
    """A small tornado server (python-telegram-bot's webhooks extra brings tornado) that
    answers 200 to Telegram only once the update is stored."""

    def __init__(
        self,
        bot: Bot,
        receive: Receive,
        *,
        listen: str,
        port: int,
        url_path: str,
        secret_token: str,
    ) -> None:
        self.bot = bot
        self.receive = receive
        self.listen = listen
        self.port = port
        self.url_path = "/" + url_path.lstrip("/")
        self.secret_token = secret_token
        self._http: HTTPServer | None = None

    async def start(self, webhook_url: str, allowed_updates: Sequence[str]) -> None:
        app = tornado.web.Application(
            [(rf"{re.escape(self.url_path.rstrip('/'))}/?", _Hook, {"server": self})],
            log_function=lambda handler: None,
        )
        self._http = HTTPServer(app)
        self._http.listen(self.port, address=self.listen)
        await self.bot.set_webhook(
            url=webhook_url,
            allowed_updates=list(allowed_updates),
            secret_token=self.secret_token or None,
        )

    async def stop(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.stop()
            await http.close_all_connections()
