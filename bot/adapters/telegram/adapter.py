"""The Telegram adapter: one python-telegram-bot Application, run under our own event loop.

It translates and forwards; the core decides. Usage: `adapter = TelegramAdapter(settings)`;
build the core with `adapter.messenger`; `adapter.bind(core)`; `await adapter.start()` ...
`await adapter.stop()`, called by the entry point, so the Matrix adapter can run beside it on
the same loop (no `run_polling`).

Updates come in through the inbox (inbox.py, intake.py): stored, then confirmed to Telegram,
then handed to the Application's update queue, and marked handled when `_on_update` returned.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Protocol

from telegram import Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.adapters.telegram import translate
from bot.adapters.telegram.admins import AdminCache
from bot.adapters.telegram.commands import bot_commands
from bot.adapters.telegram.inbox import Inbox
from bot.adapters.telegram.intake import Poller, WebhookServer
from bot.adapters.telegram.messenger import TelegramMessenger
from bot.adapters.telegram.processor import ChatOrderedProcessor
from bot.adapters.telegram.ratelimit import FloodLimits, TelegramRateLimiter
from bot.adapters.telegram.settings import TelegramSettings
from bot.core.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from bot.core.messages import ChatRef, Inbound, PollAnswer, Reply, RsvpAction
from bot.db.session import Database

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.POLL_ANSWER,
    Update.CHAT_MEMBER,  # only sent when asked for by name
    Update.MY_CHAT_MEMBER,
]
_ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


class CoreHandler(Protocol):
    """What the adapter calls on the core (bot.core.app.Core)."""

    async def handle_message(self, msg: Inbound) -> None: ...

    async def handle_poll_answer(self, answer: PollAnswer) -> None: ...

    async def handle_rsvp_action(self, action: RsvpAction) -> Reply: ...

    async def migrate_chat(self, old: ChatRef, new: ChatRef) -> None: ...


class TelegramAdapter:
    def __init__(
        self,
        settings: TelegramSettings,
        db: Database | None = None,
        *,
        limits: FloodLimits | None = None,
        edit_interval: float = 5.0,
        admin_ttl: float = 60.0,  # how stale rights from a group may be (docs/security.md)
        poll_timeout: int = 30,
    ) -> None:
        # httpx logs every request URL at INFO, and Bot API URLs carry the token.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.settings = settings
        self.poll_timeout = poll_timeout
        self.rate_limiter = TelegramRateLimiter(limits)
        self.application: Application = (  # type: ignore[type-arg]
            ApplicationBuilder()
            .token(settings.token)
            .base_url(settings.base_url)
            .rate_limiter(self.rate_limiter)
            .concurrent_updates(ChatOrderedProcessor(1024))
            .job_queue(None)
            .updater(None)  # updates come in through the inbox (intake.py), not PTB's Updater
            .build()
        )
        # Without a database (tests, benchmarks that only send) the inbox is kept in memory.
        self.inbox = Inbox(db)
        self._poller: Poller | None = None
        self._webhook: WebhookServer | None = None
        self._stopping = False
        self.messenger = TelegramMessenger(self.application.bot, edit_interval=edit_interval)
        self.messenger.on_migrate = self._migrate
        self.admins = AdminCache(self._fetch_admins, ttl=admin_ttl)
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        self._core: CoreHandler | None = None

    def bind(self, core: CoreHandler) -> None:
        self._core = core

    @property
    def core(self) -> CoreHandler:
        if self._core is None:
            raise RuntimeError("TelegramAdapter has no core: call adapter.bind(core) first")
        return self._core

    @property
    def bot_username(self) -> str:
        return self.application.bot.username

    async def start(self) -> None:
        if self._core is None:
            raise RuntimeError("TelegramAdapter has no core: call adapter.bind(core) before start()")
        app = self.application
        self._stopping = False
        await app.initialize()  # getMe
        await self._set_commands()
        await app.start()
        # What a crash (or a stop) left stored but unhandled goes first, in update_id order.
        left = await self.inbox.unhandled()
        if left:
            log.info("telegram: handling %d update(s) stored before the restart", len(left))
        for update_id, payload in left:
            try:
                update = Update.de_json(json.loads(payload), app.bot)
            except Exception:
                log.exception("stored Telegram update %s cannot be read; skipped", update_id)
                self.inbox.handled(update_id)
                continue
            await app.update_queue.put(update)
        if self.settings.mode == "webhook":
            self._webhook = WebhookServer(
                app.bot,
                self._receive,
                listen=self.settings.listen,
                port=self.settings.port,
                url_path=self.settings.webhook_path,
                secret_token=self.settings.secret_token,
            )
            await self._webhook.start(self.settings.webhook_url, ALLOWED_UPDATES)
        else:
            self._poller = Poller(
                app.bot, self._receive, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
            )
            await self._poller.start()
        log.info("telegram: @%s is up (%s)", self.bot_username, self.settings.mode)

    async def stop_input(self) -> None:
        """Stop taking updates (polling or the webhook); those being handled finish, those
        still waiting for their turn stay in the inbox (when it is durable) for the next
        start. Sends still go: the core delivers what it owes after this."""
        app = self.application
        intake, self._poller, self._webhook = self._poller or self._webhook, None, None
        if intake is not None:
            await intake.stop()
        self._stopping = self.inbox.durable
        if app.running:
            await app.stop()
        try:
            await self.inbox.flush()
        except Exception:
            log.exception("could not mark the last Telegram updates handled; the core will "
                          "recognise them at the next start")

    async def stop(self) -> None:
        await self.stop_input()
        await self.messenger.drain()
        await self.application.shutdown()

    async def _receive(self, updates: Sequence[tuple[Update, str]]) -> None:
        """Store a batch in the inbox (one transaction), then hand what is new to the
        Application. Raises when it could not be stored: then nothing is confirmed."""
        new = await self.inbox.store([(u.update_id, raw) for u, raw in updates])
        for update, _raw in updates:
            if update.update_id in new:
                new.discard(update.update_id)
                await self.application.update_queue.put(update)

    async def _set_commands(self) -> None:
        bot = self.application.bot
        await bot.set_my_commands(bot_commands(DEFAULT_LANGUAGE))
        for language in SUPPORTED_LANGUAGES:
            if language != DEFAULT_LANGUAGE:
                await bot.set_my_commands(bot_commands(language), language_code=language)

    async def _fetch_admins(self, chat_id: int) -> set[int]:
        members = await self.application.bot.get_chat_administrators(chat_id)
        return {m.user.id for m in members}

    async def _migrate(self, old: ChatRef, new: ChatRef) -> None:
        self.admins.forget(int(old.id))
        await self.core.migrate_chat(old, new)

    # -- updates

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self._stopping:
            return  # not started before the stop: it stays in the inbox for the next start
        await self._dispatch(update)
        # Only once its handler returned; one that raised is handed over at the next start.
        self.inbox.handled(update.update_id)

    async def _dispatch(self, update: Update) -> None:
        if update.message:
            await self._on_message(update)
        elif update.callback_query:
            await self._on_button(update)
        elif update.poll_answer:
            answer = translate.poll_answer(update.poll_answer, update.update_id)
            if answer is not None:
                await self.core.handle_poll_answer(answer)
        elif update.chat_member:
            change = update.chat_member
            self.admins.update(
                change.chat.id,
                change.new_chat_member.user.id,
                change.new_chat_member.status in _ADMIN_STATUSES,
            )
        elif update.my_chat_member:
            self.admins.forget(update.my_chat_member.chat.id)

    async def _on_message(self, update: Update) -> None:
        message = update.message
        assert message is not None
        if message.migrate_to_chat_id:
            await self.messenger.note_migration(message.chat.id, message.migrate_to_chat_id)
            return
        if message.migrate_from_chat_id:
            await self.messenger.note_migration(message.migrate_from_chat_id, message.chat.id)
            return
        if not message.text:
            return
        sender = translate.sender_of(message)
        text = translate.command_text(message.text, self.bot_username)
        if sender is None or text is None:
            return
        private = message.chat.type == ChatType.PRIVATE
        await self.core.handle_message(
            Inbound(
                chat=translate.chat_ref(message.chat.id),
                sender=sender,
                text=text,
                is_private=private,
                sender_is_admin=not private and await self._is_admin(message),
                message_id=str(message.message_id),
            )
        )

    async def _is_admin(self, message: Message) -> bool:
        if translate.is_anonymous_admin(message):
            return True
        user = message.from_user
        return user is not None and await self.admins.is_admin(message.chat.id, user.id)

    async def _on_button(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None
        text = ""
        repeat = False
        try:
            if query.message is not None and query.data:
                chat = query.message.chat
                private = chat.type == ChatType.PRIVATE
                # A message posted before its group became a supergroup stays in the old
                # chat, and so do taps on its buttons; the chapter moved to the new id.
                chat_id = self.messenger.current_chat_id(chat.id)
                reply = await self.core.handle_rsvp_action(
                    RsvpAction(
                        chat=translate.chat_ref(chat_id),
                        sender=translate.user_ref(query.from_user),
                        payload=query.data,
                        sender_is_admin=not private
                        and await self.admins.is_admin(chat_id, query.from_user.id),
                        event_id=translate.button_event_id(query.id, update.update_id),
                    )
                )
                text = reply.text
                # A press handled before (the update came again after a restart) was
                # answered the first time; Telegram takes one answer per query.
                repeat = reply.accepted and not text
        finally:
            # Always answer, or the user's client shows a spinner until it times out.
            if not repeat:
                try:
                    await query.answer(text[:200] or None)
                except TelegramError as exc:
                    log.warning("answerCallbackQuery failed: %s", exc)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update %r failed", update, exc_info=context.error)
