"""The Telegram adapter: one python-telegram-bot Application, run under our own event loop.

It translates and forwards; the core decides. Usage: `adapter = TelegramAdapter(settings)`;
build the core with `adapter.messenger`; `adapter.bind(core)`; `await adapter.start()` ...
`await adapter.stop()`, called by the entry point, so the Matrix adapter can run beside it on
the same loop (no `run_polling`).

Updates come in through the inbox (inbox.py, intake.py): stored, then confirmed to Telegram,
then handed to the Application's update queue, and marked handled when `_on_update` returned;
poll answers skip the Application and go to the core in batches (votes.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from telegram import Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import NetworkError, TelegramError
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
from bot.adapters.telegram.votes import PollAnswerBatches
from bot.core.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from bot.core.messages import ChatPost, ChatRef, Inbound, PollAnswer, Reply, RsvpAction
from bot.core.syntax import parse_command
from bot.core.text import scrub
from bot.core.wall import AVATAR_SIDE
from bot.db.session import Database, database_unreachable

PLATFORM_NAME = "telegram"
USERNAME_KEY = "username"  # adapter_state: the bot's @name, for t.me links (bot/web/pages.py)

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.POLL_ANSWER,
    Update.CHAT_MEMBER,  # only sent when asked for by name
    Update.MY_CHAT_MEMBER,
]
_ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
# How often an update whose handler raises is tried before it is skipped (counted in the
# inbox row). Failures that pass (the database or Telegram out of reach) are not counted.
MAX_TRIES = 5
_LONGEST_PAUSE = 60.0


class CoreHandler(Protocol):
    """What the adapter calls on the core (bot.core.app.Core)."""

    async def handle_message(self, msg: Inbound) -> None: ...

    async def handle_post(self, post: ChatPost) -> bool: ...

    async def handle_poll_answers(self, answers: Sequence[PollAnswer],
                                  inbox: str | None = None) -> None: ...

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
        slots: int = 1024,
        max_tries: int = MAX_TRIES,
        retry_pause: float = 1.0,
    ) -> None:
        # httpx logs every request URL at INFO, and Bot API URLs carry the token.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.settings = settings
        self.poll_timeout = poll_timeout
        self.max_tries = max_tries
        self.retry_pause = retry_pause
        self._retries: set[asyncio.Task[None]] = set()
        self.rate_limiter = TelegramRateLimiter(limits)
        self.application: Application = (  # type: ignore[type-arg]
            ApplicationBuilder()
            .token(settings.token)
            .base_url(settings.base_url)
            .base_file_url(file_url(settings.base_url))
            .rate_limiter(self.rate_limiter)
            # Updates of different chats handled at once; one chat takes at most one.
            .concurrent_updates(ChatOrderedProcessor(slots))
            .job_queue(None)
            .updater(None)  # updates come in through the inbox (intake.py), not PTB's Updater
            .build()
        )
        # Without a database (tests, benchmarks that only send) the inbox is kept in memory.
        self.inbox = Inbox(db)
        self._db = db
        self._poller: Poller | None = None
        self._webhook: WebhookServer | None = None
        self._stopping = False
        self._in_hand: set[int] = set()  # update ids handed to the Application, not yet done
        self.messenger = TelegramMessenger(self.application.bot, edit_interval=edit_interval)
        self.messenger.on_migrate = self._migrate
        self.messenger.chat_ready_in = self.rate_limiter.chat_ready_in
        self.admins = AdminCache(self._fetch_admins, ttl=admin_ttl)
        # With a durable inbox the core marks the answers' rows handled in their unit of work.
        self.poll_answers = PollAnswerBatches(
            lambda batch: self.core.handle_poll_answers(
                batch, inbox=self.inbox.platform if self.inbox.durable else None),
            lambda update_id: None if self.inbox.durable else self.inbox.handled(update_id),
            self._poll_answer_failed)
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        self._core: CoreHandler | None = None

    def bind(self, core: CoreHandler) -> None:
        self._core = core
        # Edits are paced per copy; each applies the newest text any copy asked for.
        self.messenger.latest_edit = getattr(core, "latest_edit", None)
        # 429s and network retries count in the core's metrics (the operator's /metrics).
        metrics = getattr(core, "metrics", None)
        if metrics is not None:
            self.rate_limiter.on_retry = lambda reason: metrics.retried("telegram", reason)

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
        self.poll_answers.restart()
        await app.initialize()  # getMe
        if self._db is not None:  # the web pages' "answer in the chat" links name the bot
            from bot.db.state import save_state

            try:
                await save_state(self._db, PLATFORM_NAME, USERNAME_KEY, self.bot_username)
            except Exception:  # only the pages' links need it; the bot runs on without
                log.warning("telegram: could not store the bot's username for the web pages",
                            exc_info=True)
        await self._set_commands()
        await app.start()
        # What a crash (or a stop) left stored but unhandled goes first, in update_id order.
        self._in_hand.clear()
        left = await self._hand_over_stored()
        if left:
            log.info("telegram: handling %d update(s) stored before the restart", left)
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
            await self._start_polling()
        log.info("telegram: @%s is up (%s)", self.bot_username, self.settings.mode)

    async def _start_polling(self) -> None:
        self._poller = Poller(
            self.application.bot, self._receive, timeout=self.poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
        )
        await self._poller.start()

    async def _hand_over_stored(self) -> int:
        """Hand the Application the updates stored and not handled, in update_id order,
        except those it holds already (and those handled, whose mark is not yet written)."""
        app = self.application
        skip = self._in_hand | self.inbox.marks_pending()
        count = 0
        for update_id, payload in await self.inbox.unhandled():
            if update_id in skip:
                continue
            try:
                update = Update.de_json(json.loads(payload), app.bot)
            except Exception:
                log.exception("stored Telegram update %s cannot be read; skipped", update_id)
                await self.inbox.give_up(update_id)
                continue
            await self._hand_over(update)
            count += 1
        return count

    async def pause_input(self) -> None:
        """Stop reading Telegram because this copy lost the lead (polling mode; a webhook copy
        needs no lead). Polling stops without confirming anything more, since another copy may
        poll now; updates in hand are still handled and sends still go."""
        poller, self._poller = self._poller, None
        if poller is not None:
            await poller.stop(confirm=False)

    async def resume_input(self) -> None:
        """This copy leads again: hand over what is stored but not handled and not in hand
        (an update whose handling gave up while the database was away), then poll again."""
        if self.settings.mode == "webhook" or self._poller is not None:
            return
        left = await self._hand_over_stored()
        if left:
            log.info("telegram: handling %d stored update(s) again", left)
        await self._start_polling()

    async def stop_input(self) -> None:
        """Stop taking updates (polling or the webhook); those being handled finish, those
        still waiting for their turn stay in the inbox (when it is durable) for the next
        start. Sends still go: the core delivers what it owes after this."""
        app = self.application
        intake, self._poller, self._webhook = self._poller or self._webhook, None, None
        if intake is not None:
            await intake.stop()
        for retry in list(self._retries):  # it stays in the inbox for the next start
            retry.cancel()
        self._stopping = self.inbox.durable
        if self._stopping:
            await self.poll_answers.stop()
        else:
            await self.poll_answers.idle()
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

    async def _receive(self, updates: Sequence[tuple[int, Update | None, str]]) -> None:
        """Store a batch in the inbox (one transaction), then hand what is new to the
        Application; one that can't be read is marked failed. Raises when it could not be
        stored: then nothing is confirmed."""
        updates = [(update_id, u, raw) for update_id, u, raw in updates
                   if u is None or translate.worth_storing(u)]
        new = await self.inbox.store([(update_id, raw) for update_id, _u, raw in updates])
        for update_id, update, _raw in updates:
            if update_id in new:
                new.discard(update_id)
                if update is None:
                    await self.inbox.give_up(update_id)
                else:
                    await self._hand_over(update)

    async def _hand_over(self, update: Update) -> None:
        if update.poll_answer:
            # Not held in _in_hand: the batch's commit marks it handled, once, whoever
            # hands it over again.
            self._take_poll_answer(update)
        else:
            self._in_hand.add(update.update_id)
            await self.application.update_queue.put(update)

    def _take_poll_answer(self, update: Update) -> None:
        """Straight to the batches of votes.py, which mark it handled once recorded."""
        assert update.poll_answer is not None
        answer = translate.poll_answer(update.poll_answer, update.update_id)
        if answer is None:
            self.inbox.handled(update.update_id)
        else:
            self.poll_answers.add(update.update_id, answer)

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
            self._in_hand.discard(update.update_id)
            return  # not started before the stop: it stays in the inbox for the next start
        if update.poll_answer:
            self._in_hand.discard(update.update_id)
            self._take_poll_answer(update)  # (only when something else queued it)
            return
        try:
            await self._dispatch(update)
        except Exception as exc:
            await self._failed(update, exc)
            return
        # Only once its handler returned; one that raised is tried again by _failed.
        self.inbox.handled(update.update_id)
        self._in_hand.discard(update.update_id)

    async def _failed(self, update: Update, exc: Exception) -> None:
        """A handler raised: try the update again after a pause, up to `max_tries` times
        (counted in its inbox row), then skip it; meanwhile its chat's later updates go on.
        A failure that passes (the database or Telegram out of reach) is not counted."""
        what = _describe(update)
        passing = database_unreachable(exc) or isinstance(exc, NetworkError)
        try:
            tries = 0 if passing else await self.inbox.failed_once(update.update_id)
        except Exception:
            log.exception("telegram update %s (%s) failed and its try could not be counted; "
                          "it is handed over again at the next start", update.update_id, what)
            self._in_hand.discard(update.update_id)
            return
        if tries >= self.max_tries:
            log.error("telegram update %s (%s) failed %d times; skipped", update.update_id,
                      what, tries, exc_info=exc)
            try:
                await self.inbox.give_up(update.update_id)
            except Exception:
                log.exception("could not mark telegram update %s skipped", update.update_id)
            self._in_hand.discard(update.update_id)
            return
        pause = min(_LONGEST_PAUSE, self.retry_pause * 2 ** max(0, tries - 1))
        log.warning("telegram update %s (%s) failed (try %d of %d); trying again in %.1f s",
                    update.update_id, what, tries, self.max_tries, pause, exc_info=exc)

        async def again() -> None:
            await asyncio.sleep(pause)
            if not self._stopping and self.application.running:
                await self.application.update_queue.put(update)
            else:
                self._in_hand.discard(update.update_id)

        task = asyncio.create_task(again(), name=f"telegram update {update.update_id} again")
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _poll_answer_failed(self, update_id: int, answer: PollAnswer,
                                  exc: Exception) -> None:
        """One poll answer could not be recorded: like `_failed`, tried again after a pause
        up to `max_tries` times, then skipped."""
        what = f"poll_answer from {answer.voter.id} poll {answer.platform_poll_id}"
        passing = database_unreachable(exc) or isinstance(exc, NetworkError)
        try:
            tries = 0 if passing else await self.inbox.failed_once(update_id)
        except Exception:
            log.exception("telegram update %s (%s) failed and its try could not be counted; "
                          "it is handed over again at the next start", update_id, what)
            return
        if tries >= self.max_tries:
            log.error("telegram update %s (%s) failed %d times; skipped", update_id, what,
                      tries, exc_info=exc)
            try:
                await self.inbox.give_up(update_id)
            except Exception:
                log.exception("could not mark telegram update %s skipped", update_id)
            return
        pause = min(_LONGEST_PAUSE, self.retry_pause * 2 ** max(0, tries - 1))
        log.warning("telegram update %s (%s) failed (try %d of %d); trying again in %.1f s",
                    update_id, what, tries, self.max_tries, pause, exc_info=exc)

        async def again() -> None:
            await asyncio.sleep(pause)
            if not self._stopping and self.application.running:
                self.poll_answers.add(update_id, answer)

        task = asyncio.create_task(again(), name=f"telegram update {update_id} again")
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _dispatch(self, update: Update) -> None:
        if update.message:
            await self._on_message(update)
        elif update.callback_query:
            await self._on_button(update)
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
        if message.photo and message.caption and "#" in message.caption:
            await self._on_photo(message)
            return
        if not message.text:
            return
        sender = translate.sender_of(message)
        text = translate.command_text(message.text, self.bot_username)
        if sender is None or text is None:
            return
        private = message.chat.type == ChatType.PRIVATE
        if parse_command(scrub(text)) is None and "#" in text and message.from_user is not None:
            # Maybe a wall post: handed over with a way to its author's profile photo.
            await self.core.handle_post(ChatPost(
                chat=translate.chat_ref(message.chat.id), sender=sender, text=text,
                is_private=private, message_id=str(message.message_id),
                avatar=self._avatar(message.from_user.id)))
            return
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

    async def _on_photo(self, message: Message) -> None:
        """A photo whose caption carries a "#": maybe a wall post; the photo (its largest
        size) is downloaded only if it goes to a wall."""
        sender = translate.sender_of(message)
        if sender is None or not message.caption:
            return
        largest = message.photo[-1]
        bot = self.application.bot

        async def download() -> bytes:
            file = await bot.get_file(largest.file_id)
            return bytes(await file.download_as_bytearray())

        user = message.from_user
        await self.core.handle_post(ChatPost(
            chat=translate.chat_ref(message.chat.id), sender=sender, text=message.caption,
            is_private=message.chat.type == ChatType.PRIVATE,
            message_id=str(message.message_id), photo=download,
            avatar=self._avatar(user.id) if user is not None else None))

    def _avatar(self, user_id: int) -> Callable[[], Awaitable[bytes | None]]:
        """The member's current profile photo, its smallest size of at least 96 px
        (getUserProfilePhotos, then getFile); None when they have none. Called only for a
        message that goes on a wall."""
        bot = self.application.bot

        async def download() -> bytes | None:
            found = await bot.get_user_profile_photos(user_id, limit=1)
            if not found.photos or not found.photos[0]:
                return None
            sizes = sorted(found.photos[0], key=lambda size: min(size.width, size.height))
            big_enough = [size for size in sizes
                          if min(size.width, size.height) >= AVATAR_SIDE]
            chosen = big_enough[0] if big_enough else sizes[-1]
            file = await bot.get_file(chosen.file_id)
            return bytes(await file.download_as_bytearray())

        return download

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


def _describe(update: Update) -> str:
    """The ids to find an update by in the log: its kind, chat, sender, poll."""
    parts = []
    if update.effective_chat is not None:
        parts.append(f"chat {update.effective_chat.id}")
    if update.effective_user is not None:
        parts.append(f"from {update.effective_user.id}")
    if update.poll_answer is not None:
        parts.append(f"poll {update.poll_answer.poll_id}")
    if update.callback_query is not None:
        parts.append(f"button {update.callback_query.id}")
    kind = next((k for k in ("message", "callback_query", "poll_answer", "chat_member",
                             "my_chat_member") if getattr(update, k, None) is not None), "update")
    return " ".join([kind, *parts])


def file_url(base_url: str) -> str:
    """Where files are fetched: "https://api.telegram.org/bot" -> ".../file/bot" (a local
    Bot API server or the tests' fake the same way)."""
    root = base_url[:-3] if base_url.endswith("/bot") else base_url.rstrip("/") + "/"
    return root + "file/bot"
