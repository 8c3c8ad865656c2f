"""The core's outbound port on Telegram."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ChatMemberStatus, MessageLimit, PollLimit
from telegram.error import BadRequest, ChatMigrated, Forbidden

from bot.adapters.cache import BoundedCache
from bot.adapters.telegram.edits import EditCoalescer
from bot.adapters.telegram.translate import PLATFORM, chat_ref, is_dm_able
from bot.core.messages import Button, ChatRef, OutFile, SentMessage, SentPoll, UserRef
from bot.core.ports import CannotDM

log = logging.getLogger(__name__)

T = TypeVar("T")
MigrationHook = Callable[[ChatRef, ChatRef], Awaitable[None]]
# The newest text and buttons asked for a message, by any copy of the bot (Core.latest_edit).
LatestEdit = Callable[[ChatRef, str], Awaitable[tuple[str, Sequence[Button]] | None]]
_EditKey = tuple[int, int]
_EditContent = tuple[str, InlineKeyboardMarkup | None]

BUTTONS_PER_ROW = 3
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
MAX_CAPTION = MessageLimit.CAPTION_LENGTH
MEMBER_CACHE = 10_000  # (chat, user) answers of getChatMember kept
MEMBER_TTL_S = 600.0
_IN_CHAT = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}


class PollTooLarge(ValueError):
    """More options than a Telegram poll takes (see `TelegramMessenger.max_poll_options`)."""


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix_fitting(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 units (Telegram's measure)."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return i
    return len(text)


def _clip(text: str, limit: int) -> str:
    if _utf16_len(text) <= limit:
        return text
    return text[: _prefix_fitting(text, limit - 1)] + "…"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split at line ends into messages Telegram accepts; an over-long line is cut."""
    if _utf16_len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while _utf16_len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            cut = _prefix_fitting(line, limit)
            chunks.append(line[:cut])
            line = line[cut:]
        if _utf16_len(current + line) > limit:
            chunks.append(current)
            current = ""
        current += line
    chunks.append(current)
    return [c.rstrip("\n") for c in chunks if c.strip()]


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    for b in buttons:
        if not 1 <= len(b.payload.encode()) <= 64:
            raise ValueError(f"button payload must be 1-64 bytes: {b.payload!r}")
    rows = [
        [InlineKeyboardButton(b.label, callback_data=b.payload) for b in buttons[i : i + BUTTONS_PER_ROW]]
        for i in range(0, len(buttons), BUTTONS_PER_ROW)
    ]
    return InlineKeyboardMarkup(rows)


class TelegramMessenger:
    platform = PLATFORM
    max_poll_options = PollLimit.MAX_OPTION_NUMBER

    def __init__(self, bot: Bot, edit_interval: float = 5.0, start_payload: str = "hi") -> None:
        self._bot = bot
        self._start_payload = start_payload
        self._edits: EditCoalescer[_EditKey, _EditContent] = EditCoalescer(self._apply_edit, edit_interval)
        self._migrated: dict[int, int] = {}
        self._members: BoundedCache[tuple[int, str], bool] = BoundedCache(MEMBER_CACHE,
                                                                           MEMBER_TTL_S)
        self.on_migrate: MigrationHook | None = None
        self.latest_edit: LatestEdit | None = None
        self.chat_ready_in: Callable[[int], float] | None = None  # the adapter's rate limiter

    # -- the port

    async def send_text(self, chat: ChatRef, text: str, buttons: Sequence[Button] = (),
                        *, key: str | None = None) -> SentMessage:
        markup = keyboard(buttons)
        pieces = split_text(text)
        sent: Message | None = None
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1

            async def send(chat_id: int, piece: str = piece, last: bool = last) -> Message:
                return await self._bot.send_message(chat_id, piece, reply_markup=markup if last else None)

            sent = await self._to_chat(chat, send)
        assert sent is not None
        return SentMessage(chat_ref(sent.chat.id), str(sent.message_id))

    async def edit_text(
        self, chat: ChatRef, message_id: str, text: str, buttons: Sequence[Button] = (),
        *, key: str | None = None,
    ) -> None:
        """Returns at once; the edit goes out within the edit interval, latest text wins."""
        content = (_clip(text, MAX_TEXT), keyboard(buttons))
        self._edits.submit((self._chat_id(chat), int(message_id)), content)

    async def send_poll(
        self, chat: ChatRef, question: str, options: Sequence[str], multiple: bool,
        *, key: str | None = None,
    ) -> SentPoll:
        if not PollLimit.MIN_OPTION_NUMBER <= len(options) <= self.max_poll_options:
            raise PollTooLarge(
                f"a Telegram poll takes {PollLimit.MIN_OPTION_NUMBER}-{self.max_poll_options} "
                f"options, not {len(options)}"
            )

        async def send(chat_id: int) -> Message:
            return await self._bot.send_poll(
                chat_id,
                _clip(question, PollLimit.MAX_QUESTION_LENGTH),
                [_clip(o, PollLimit.MAX_OPTION_LENGTH) for o in options],
                is_anonymous=False,
                allows_multiple_answers=multiple,
            )

        message = await self._to_chat(chat, send)
        assert message.poll is not None
        return SentPoll(chat_ref(message.chat.id), str(message.message_id), message.poll.id)

    async def close_poll(self, poll: SentPoll, *, key: str | None = None) -> None:
        async def stop(chat_id: int) -> None:
            await self._bot.stop_poll(chat_id, int(poll.message_id))

        try:
            await self._to_chat(poll.chat, stop)
        except BadRequest as exc:
            if "already been closed" not in exc.message:
                raise

    async def send_file(self, chat: ChatRef, file: OutFile, caption: str = "",
                        *, key: str | None = None) -> SentMessage:
        if _utf16_len(caption) > MAX_CAPTION:
            await self.send_text(chat, caption)
            caption = ""

        async def send(chat_id: int) -> Message:
            document = InputFile(file.content, filename=file.filename)
            document.mimetype = file.mime_type
            return await self._bot.send_document(chat_id, document, caption=caption or None)

        message = await self._to_chat(chat, send)
        return SentMessage(chat_ref(message.chat.id), str(message.message_id))

    async def send_dm(self, user: UserRef, text: str, file: OutFile | None = None,
                      *, key: str | None = None, buttons: Sequence[Button] = ()) -> SentMessage:
        """A private chat's id is the user's id. Raises CannotDM when Telegram refuses, and
        for an anonymous admin, who has no private chat."""
        if not is_dm_able(user.id):
            raise CannotDM(user, self.start_hint(user))
        chat = ChatRef(PLATFORM, user.id)
        try:
            if file is None:
                return await self.send_text(chat, text, buttons)
            return await self.send_file(chat, file, caption=text)
        except Forbidden as exc:
            log.info("cannot DM telegram user %s: %s", user.id, exc.message)
            raise CannotDM(user, self.start_hint(user)) from exc
        except BadRequest as exc:
            if "chat not found" not in exc.message.lower():
                raise
            raise CannotDM(user, self.start_hint(user)) from exc

    def start_hint(self, user: UserRef) -> str:
        return f"https://t.me/{self._bot.username}?start={self._start_payload}"

    async def is_member(self, chat: ChatRef, user: UserRef) -> bool:
        """Whether `user` is in the group now (getChatMember), cached for a while. A poll
        that is not anonymous can be forwarded out of its group and answered elsewhere."""
        chat_id = self._chat_id(chat)
        if user.id == str(chat_id):
            return True  # an anonymous admin, voting as the group itself
        key = (chat_id, user.id)
        known = self._members.get(key)
        if known is not None:
            return known
        try:
            member = await self._bot.get_chat_member(chat_id, int(user.id))
        except ValueError:
            inside = False  # not a person's id (a channel voting as itself)
        except BadRequest as exc:
            log.info("getChatMember %s in %s: %s", user.id, chat_id, exc.message)
            inside = False  # "user not found", "PARTICIPANT_ID_INVALID"
        else:
            inside = member.status in _IN_CHAT or (
                member.status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False)))
        self._members[key] = inside
        return inside

    def ready_in(self, chat: ChatRef) -> float:
        """ports.Paced: how long a message to `chat` would wait for the chat's own limit."""
        if self.chat_ready_in is None or not chat.id.lstrip("-").isdigit():
            return 0.0
        return self.chat_ready_in(self._chat_id(chat))

    # -- for the adapter and tests

    async def drain(self) -> None:
        """Send edits still waiting, at once (on shutdown)."""
        await self._edits.drain()

    async def settle(self) -> None:
        """Wait until edits asked for so far are sent, keeping the edit interval."""
        await self._edits.wait_idle()

    async def note_migration(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: send there from now on and tell the core, once."""
        if self._migrated.get(old_id) == new_id:
            return
        self._migrated[old_id] = new_id
        log.info("telegram chat %s migrated to %s", old_id, new_id)
        if self.on_migrate is not None:
            await self.on_migrate(chat_ref(old_id), chat_ref(new_id))

    def current_chat_id(self, chat_id: int) -> int:
        """The id a chat has now: a basic group's supergroup id once it was upgraded."""
        while chat_id in self._migrated:
            chat_id = self._migrated[chat_id]
        return chat_id

    # -- helpers

    def _chat_id(self, chat: ChatRef) -> int:
        return self.current_chat_id(int(chat.id))

    async def _to_chat(self, chat: ChatRef, call: Callable[[int], Awaitable[T]]) -> T:
        chat_id = self._chat_id(chat)
        try:
            return await call(chat_id)
        except ChatMigrated as exc:
            await self.note_migration(chat_id, exc.new_chat_id)
            return await call(exc.new_chat_id)

    async def _apply_edit(self, key: _EditKey, content: _EditContent) -> None:
        # Several copies (webhook mode) each pace their own edits, so a copy could apply
        # counts older than another copy's, last. The edit applied is the newest any copy
        # asked for (read when it goes out); when a newer one came in meanwhile, it follows.
        content = await self._newest(key) or content
        await self._edit(key, content)
        after = await self._newest(key)
        if after is not None and not _same(after, content):
            self._edits.submit(key, after)

    async def _newest(self, key: _EditKey) -> _EditContent | None:
        if self.latest_edit is None:
            return None
        try:
            found = await self.latest_edit(chat_ref(key[0]), str(key[1]))
        except Exception as exc:  # the database away: the edit at hand goes out
            log.warning("could not read the newest edit of message %s (%s: %s)",
                        key, type(exc).__name__, exc)
            return None
        return None if found is None else (_clip(found[0], MAX_TEXT), keyboard(found[1]))

    async def _edit(self, key: _EditKey, content: _EditContent) -> None:
        chat_id, message_id = key
        text, markup = content

        async def edit(target: int) -> None:
            await self._bot.edit_message_text(
                text, chat_id=target, message_id=message_id, reply_markup=markup
            )

        try:
            await self._to_chat(chat_ref(chat_id), edit)
        except BadRequest as exc:
            if "not modified" not in exc.message:
                raise


def _same(a: _EditContent, b: _EditContent) -> bool:
    return a[0] == b[0] and (a[1].to_dict() if a[1] else None) == (b[1].to_dict() if b[1] else None)
