"""A fake Telegram Bot API server for tests: aiohttp on 127.0.0.1, a random port.

Point python-telegram-bot at it with `base_url=fake.base_url`. It follows the Bot API
documentation (https://core.telegram.org/bots/api) for the methods the bot uses, keeps
users, groups and private chats, enforces the flood limits of `limits.py`, and records every
request. The test side injects what users do (`user_sends`, `start_bot`, `vote`, `press`,
`set_admin`, `migrate_to_supergroup`) and reads the transcript (`bot_messages`, `texts`,
`polls`, `callback_answers`, `requests`, `violations`).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.waiting import wait_set

from .limits import MESSAGE_METHODS, FakeLimits, FloodControl, RetryWindow
from .model import (
    JSON,
    BotMessage,
    CallbackAnswer,
    Document,
    FakeChat,
    FakePoll,
    FakeUser,
    Keyboard,
    RequestRecord,
    member_json,
)
from .params import ApiError, Params, Upload, bad_request

Handler = Callable[[Params, RequestRecord], Awaitable[Any]]

# Bot API: getUpdates without allowed_updates delivers everything except these.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MAX_TEXT = 4096
MAX_CAPTION = 1024
MIN_POLL_OPTIONS, MAX_POLL_OPTIONS = 1, 12  # Bot API 10.0 ("1-12 answer options")
MAX_CALLBACK_DATA = 64
# Stands in as `user` for anonymous voters in poll answers (Bot API 6.8).
CHANNEL_BOT = FakeUser(136817688, "Channel", username="Channel_Bot", is_bot=True)
COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,32}))?(?=\s|$)")


def utf16_len(text: str) -> int:
    """Bot API lengths and entity offsets count UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Webhook:
    url: str
    secret_token: str | None


@dataclass
class Hold:
    """A request the fake keeps waiting (see `FakeBotAPI.hold`): the `nth` request that
    `match` accepts stops before it is handled (`after=False`) or after it is handled, with its
    answer not yet sent (`after=True`), until `release()` or until the client goes away."""

    match: Callable[[RequestRecord], bool]
    nth: int = 1
    after: bool = False
    seen: int = 0
    record: RequestRecord | None = None
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


@dataclass(frozen=True)
class WebhookDelivery:
    update_id: int
    status: int
    at: float


class FakeBotAPI:
    def __init__(
        self,
        token: str = "123456789:TEST-fake-token",
        bot_username: str = "irl_test_bot",
        limits: FakeLimits | None = None,
        privacy_mode: bool = True,
        webhook_retry_delay: float = 0.2,
    ) -> None:
        self.token = token
        self.bot = FakeUser(int(token.split(":")[0]), "IRL", username=bot_username, is_bot=True)
        self.flood = FloodControl(limits if limits is not None else FakeLimits())
        self.privacy_mode = privacy_mode
        self.webhook_retry_delay = webhook_retry_delay
        self.latency = 0.0  # seconds each message request takes (a slow Telegram)
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.requests: list[RequestRecord] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope type, language)
        self.polls: dict[str, FakePoll] = {}
        self.webhook: Webhook | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        # Where each update is posted (several URLs: posted to each, at once), instead of the
        # webhook's URL: copies behind a load balancer, and Telegram posting one twice.
        self.webhook_router: Callable[[JSON], list[str]] | None = None
        self._messages: dict[int, dict[int, BotMessage]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._updates: list[JSON] = []
        self._sent_updates: dict[int, JSON] = {}  # every update pushed, by update_id
        self._update_ids = itertools.count(500_000_001)
        self._user_ids = itertools.count(10_000_001)
        self._group_ids = itertools.count(4_000_001)
        self._ids = itertools.count(1)
        self._allowed: list[str] | None = None
        self._open_queries: dict[str, int] = {}  # callback query id -> user id
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._holds: list[Hold] = []
        self._session: aiohttp.ClientSession | None = None
        self.files: dict[str, bytes] = {}  # file_id -> content (photos members sent)
        # user id -> their profile photos, newest first, each its sizes (small to large)
        self.profile_photos: dict[int, list[list[JSON]]] = {}
        self.port = 0
        self._methods: dict[str, Handler] = {
            name.lower(): getattr(self, f"_m_{name}")
            for name in (
                "getMe",
                "getUpdates",
                "setWebhook",
                "deleteWebhook",
                "getWebhookInfo",
                "sendMessage",
                "editMessageText",
                "editMessageReplyMarkup",
                "sendPoll",
                "stopPoll",
                "answerCallbackQuery",
                "sendDocument",
                "sendChatAction",
                "getChat",
                "getChatAdministrators",
                "getChatMember",
                "getFile",
                "getUserProfilePhotos",
                "setMyCommands",
                "getMyCommands",
                "deleteMyCommands",
            )
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """What python-telegram-bot takes as `base_url` (it appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> FakeBotAPI:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = self._site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = aiohttp.ClientSession()
        return self

    async def go_offline(self) -> None:
        """Telegram out of reach (a network outage): connections are refused, and open ones
        are cut, until `go_online`."""
        assert self._runner is not None
        if self._site is not None:
            await self._site.stop()
            self._site = None
        server = self._runner.server
        for handler in list(server.connections if server else ()):
            handler.force_close()
        await asyncio.sleep(0.05)  # the closed connections reach the clients

    async def go_online(self) -> None:
        assert self._runner is not None
        if self._site is None:
            self._site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            await self._site.start()

    async def stop(self) -> None:
        await self._stop_webhook_delivery()
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def clock(self) -> float:
        return time.monotonic()

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        at = self.clock()
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            body = ApiError(401, "Unauthorized").body()
            return web.json_response(body, status=401)
        record = RequestRecord(at, method, {})
        self.requests.append(record)
        try:
            params = await Params.read(request)
            record.params = params.loggable()
            if self.latency and method.lower() in MESSAGE_METHODS:
                await asyncio.sleep(self.latency)
            handler = self._methods.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            hold = self._hold_for(record)
            if hold is not None and not hold.after:
                await self._wait_in(hold, record)
            result = await handler(params, record)
            if hold is not None and hold.after:
                await self._wait_in(hold, record)
            record.status = 200
            body: JSON = {"ok": True, "result": result}
        except ApiError as exc:
            record.status, record.description = exc.code, exc.description
            body = exc.body()
        self._notify()
        return web.json_response(body, status=record.status)

    def hold(
        self, match: Callable[[RequestRecord], bool], nth: int = 1, after: bool = False
    ) -> Hold:
        """Keep the `nth` request from now on that `match` accepts waiting: before it is
        handled, or (`after=True`) handled but unanswered, as a reply lost when the client
        dies. A crash test arms a hold, waits for `hold.reached`, and kills the bot there."""
        hold = Hold(match, nth, after)
        self._holds.append(hold)
        return hold

    def _hold_for(self, record: RequestRecord) -> Hold | None:
        for hold in self._holds:
            if hold.record is None and hold.match(record):
                hold.seen += 1
                if hold.seen == hold.nth:
                    hold.record = record
                    return hold
        return None

    async def _wait_in(self, hold: Hold, record: RequestRecord) -> None:
        hold.reached.set()
        self._notify()
        await hold.released.wait()  # cancelled when the client's connection goes

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(
        self, condition: Callable[[], bool], within: float = 10.0, what: str = "condition"
    ) -> None:
        """Wait until `condition()` holds, re-checking whenever the fake handles something."""
        deadline = self.clock() + within
        while not condition():
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise AssertionError(f"timed out after {within} s waiting for {what}")
            await wait_set(self._changed, min(remaining, 0.05))

    # ------------------------------------------------------------------ world: test side

    def add_user(
        self,
        first_name: str,
        last_name: str = "",
        username: str | None = None,
        language_code: str | None = "nl",
        started: bool = False,
    ) -> FakeUser:
        user = FakeUser(
            next(self._user_ids),
            first_name,
            last_name,
            username,
            language_code=language_code,
            started=started,
        )
        self.users[user.id] = user
        return user

    def add_group(
        self,
        title: str,
        members: Iterable[FakeUser] = (),
        admins: Iterable[FakeUser] = (),
        creator: FakeUser | None = None,
        supergroup: bool = False,
        bot_admin: bool = False,
    ) -> FakeChat:
        n = next(self._group_ids)
        chat_id = -(1_000_000_000_000 + n) if supergroup else -n
        chat = FakeChat(chat_id, "supergroup" if supergroup else "group", title)
        chat.members[self.bot.id] = "administrator" if bot_admin else "member"
        for user in members:
            chat.members[user.id] = "member"
        for user in admins:
            chat.members[user.id] = "administrator"
        if creator:
            chat.members[creator.id] = "creator"
        self.chats[chat_id] = chat
        return chat

    def private_chat(self, user: FakeUser) -> FakeChat:
        chat = self.chats.get(user.id)
        if chat is None:
            chat = FakeChat(user.id, "private", user=user)
            self.chats[user.id] = chat
        return chat

    def user_sends(self, user: FakeUser, chat: FakeChat, text: str,
                   reply_to: BotMessage | None = None) -> JSON | None:
        """`user` posts `text` in `chat` (as a reply to the bot's `reply_to`). Returns the
        message as the bot gets it, or None when privacy mode keeps it from the bot (a group
        message that is neither a command for it nor a reply to one of its messages)."""
        if chat.is_group and chat.status(user.id) in ("left", "kicked"):
            chat.members[user.id] = "member"
        message = self._user_message(user, chat, text=text)
        command = COMMAND.match(text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            ]
        if reply_to is not None:
            message["reply_to_message"] = self._message_json(reply_to)
        if chat.is_group and reply_to is None and self._hidden_by_privacy(chat, command):
            return None
        self.push_update("message", message)
        return message

    def user_sends_photo(self, user: FakeUser, chat: FakeChat, photo: bytes, caption: str = "",
                         reply_to: BotMessage | None = None,
                         size: tuple[int, int] = (1600, 1200)) -> JSON | None:
        """`user` posts a photo with a caption; Telegram offers it in sizes (here the one),
        fetched with getFile and the file URL."""
        if chat.is_group and chat.status(user.id) in ("left", "kicked"):
            chat.members[user.id] = "member"
        message = self._user_message(user, chat)
        file_id = f"photo-{next(self._ids)}"
        self.files[file_id] = photo
        message["photo"] = [{"file_id": file_id, "file_unique_id": "u" + file_id,
                             "width": size[0], "height": size[1], "file_size": len(photo)}]
        if caption:
            message["caption"] = caption
        if reply_to is not None:
            message["reply_to_message"] = self._message_json(reply_to)
        if chat.is_group and reply_to is None and self._hidden_by_privacy(chat, None):
            return None
        self.push_update("message", message)
        return message

    def user_sets_profile_photo(self, user: FakeUser, sizes: dict[int, bytes]) -> None:
        """`user` sets a new profile photo; Telegram keeps it in several square sizes
        (side in px -> the file), offered smallest first, the newest photo first."""
        photo: list[JSON] = []
        for side in sorted(sizes):
            file_id = f"profile-{next(self._ids)}"
            self.files[file_id] = sizes[side]
            photo.append({"file_id": file_id, "file_unique_id": "u" + file_id,
                          "width": side, "height": side, "file_size": len(sizes[side])})
        self.profile_photos.setdefault(user.id, []).insert(0, photo)

    async def _m_getUserProfilePhotos(self, p: Params, record: RequestRecord) -> JSON:
        """Bot API getUserProfilePhotos: user_id, offset (default 0), limit (1-100, default
        100) -> UserProfilePhotos {total_count, photos}; no photos: total_count 0."""
        user_id = p.int("user_id")
        if user_id is None:
            raise bad_request("user_id is empty")
        if user_id not in self.users:
            raise bad_request("user not found")
        offset = p.int("offset", 0) or 0
        limit = p.int("limit", 100) or 100
        if not 1 <= limit <= 100:
            raise bad_request("limit must be between 1 and 100")
        photos = self.profile_photos.get(user_id, [])
        return {"total_count": len(photos), "photos": photos[offset:offset + limit]}

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].rsplit("/", 1)[-1].removesuffix(".jpg")
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id], content_type="image/jpeg")

    async def _m_getFile(self, p: Params, record: RequestRecord) -> JSON:
        file_id = p.str("file_id")
        if file_id is None or file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": "u" + file_id,
                "file_size": len(self.files[file_id]), "file_path": f"photos/{file_id}.jpg"}

    def start_bot(self, user: FakeUser, payload: str = "") -> JSON | None:
        """The user presses Start (or opens a t.me/<bot>?start=<payload> link)."""
        user.started, user.blocked = True, False
        return self.user_sends(user, self.private_chat(user), f"/start {payload}".strip())

    def block_bot(self, user: FakeUser) -> None:
        user.blocked = True

    def vote(
        self,
        user: FakeUser,
        poll: FakePoll | str,
        option_ids: Iterable[int],
        as_chat: FakeChat | None = None,
    ) -> None:
        """`user` answers a poll; an empty `option_ids` takes the vote back. With `as_chat`
        the vote is cast anonymously as that chat (an anonymous group admin): the answer
        names the chat in `voter_chat` and, for backward compatibility (Bot API 6.8), the
        `user` is @Channel_Bot."""
        poll = self.polls[poll] if isinstance(poll, str) else poll
        chosen = tuple(sorted(set(option_ids)))
        if poll.is_closed:
            raise ValueError("the poll is closed")
        if any(not 0 <= i < len(poll.options) for i in chosen):
            raise ValueError(f"no such option in {chosen}")
        if len(chosen) > 1 and not poll.allows_multiple_answers:
            raise ValueError("the poll takes one answer")
        voter_id = as_chat.id if as_chat is not None else user.id
        poll.votes[voter_id] = chosen
        if not poll.is_anonymous:
            answer: JSON = {
                "poll_id": poll.id,
                "user": (CHANNEL_BOT if as_chat is not None else user).to_api(),
                "option_ids": list(chosen),
                "option_persistent_ids": [f"{poll.id}-{i}" for i in chosen],
            }
            if as_chat is not None:
                answer["voter_chat"] = as_chat.to_api()
            self.push_update("poll_answer", answer)
        self.push_update("poll", poll.to_api())

    def press(
        self,
        user: FakeUser,
        message: BotMessage,
        label: str | None = None,
        data: str | None = None,
    ) -> str:
        """`user` taps an inline button of `message` (by label), or sends any `data`
        (a forged payload). Returns the callback query id."""
        if data is None:
            matches = [d for text, d in message.buttons if label is None or text == label]
            if not matches:
                raise ValueError(f"no button {label!r} on message {message.message_id}")
            data = matches[0]
        query_id = str(7_000_000_000 + next(self._ids))
        self._open_queries[query_id] = user.id
        self.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_api(),
                "message": self._message_json(message),
                "chat_instance": str(abs(message.chat_id) * 7919),
                "data": data,
            },
        )
        return query_id

    def set_admin(self, chat: FakeChat, user: FakeUser, admin: bool = True) -> None:
        """Promote or demote `user`; the bot hears of it (chat_member) only if it is an
        admin itself, as on Telegram."""
        old = chat.status(user.id)
        new = "administrator" if admin else "member"
        if old == "creator" or old == new:
            return
        chat.members[user.id] = new
        if chat.is_admin(self.bot.id):
            self.push_update("chat_member", self._member_update(chat, user, old, new))

    def set_status(self, chat: FakeChat, user: FakeUser, status: str,
                   is_member: bool = True) -> None:
        """`user` leaves, is banned ("kicked"), restricted (in the chat or not) or comes back;
        getChatMember answers accordingly."""
        if status not in ("creator", "administrator", "member", "restricted", "left", "kicked"):
            raise ValueError(f"no chat member status {status!r}")
        chat.members[user.id] = status
        chat.restricted_outside.discard(user.id)
        if status == "restricted" and not is_member:
            chat.restricted_outside.add(user.id)

    def set_bot_admin(self, chat: FakeChat, admin: bool = True) -> None:
        old = chat.status(self.bot.id)
        new = "administrator" if admin else "member"
        chat.members[self.bot.id] = new
        self.push_update("my_chat_member", self._member_update(chat, self.bot, old, new))

    def migrate_to_supergroup(self, chat: FakeChat, by: FakeUser) -> FakeChat:
        """A basic group becomes a supergroup with a new id (Telegram does this e.g. when a
        group gets public or large)."""
        if chat.type != "group":
            raise ValueError("only basic groups migrate")
        new = FakeChat(
            -(1_000_000_000_000 + next(self._group_ids)),
            "supergroup",
            chat.title,
            members=dict(chat.members),
        )
        self.chats[new.id] = new
        chat.migrated_to = new.id
        old_note = self._user_message(by, chat)
        old_note["migrate_to_chat_id"] = new.id
        self.push_update("message", old_note)
        new_note = self._user_message(by, new)
        new_note["migrate_from_chat_id"] = chat.id
        self.push_update("message", new_note)
        return new

    def push_update(self, kind: str, payload: JSON) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, kind: payload}
        self._updates.append(update)
        self._sent_updates[update_id] = update
        self._notify()
        return update_id

    def resend(self, *update_ids: int) -> None:
        """Offer updates again that were already confirmed, as Telegram does when the bot's
        confirmation never arrived (the process died before its next getUpdates)."""
        again = [self._sent_updates[uid] for uid in update_ids]
        queued = {u["update_id"] for u in self._updates}
        self._updates = sorted(
            [*self._updates, *(u for u in again if u["update_id"] not in queued)],
            key=lambda u: u["update_id"],
        )
        self._notify()

    def repeat(self, update_id: int) -> None:
        """Queue an update that is still queued once more, next to itself: the same
        update_id twice in one getUpdates answer."""
        update = self._sent_updates[update_id]
        at = next(i for i, u in enumerate(self._updates) if u["update_id"] == update_id)
        self._updates.insert(at + 1, update)
        self._notify()

    def sent_update(self, update_id: int) -> JSON:
        """An update as it was pushed (and delivered)."""
        return self._sent_updates[update_id]

    def update_ids(self, kind: str) -> list[int]:
        """Ids of every update of `kind` pushed so far, oldest first."""
        return [uid for uid, u in self._sent_updates.items() if kind in u]

    # ------------------------------------------------------------------ transcript

    def bot_messages(self, chat: FakeChat | int) -> list[BotMessage]:
        chat_id = chat if isinstance(chat, int) else chat.id
        return list(self._messages.get(chat_id, {}).values())

    def texts(self, chat: FakeChat | int) -> list[str]:
        """Current text of each text message the bot posted in `chat`, oldest first."""
        return [m.text for m in self.bot_messages(chat) if m.kind == "text"]

    def last(self, chat: FakeChat | int) -> BotMessage:
        return self.bot_messages(chat)[-1]

    def documents(self, chat: FakeChat | int) -> list[Document]:
        return [m.document for m in self.bot_messages(chat) if m.document]

    def answer_to(self, query_id: str) -> CallbackAnswer | None:
        return next((a for a in self.callback_answers if a.query_id == query_id), None)

    def calls(self, method: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.method.lower() == method.lower()]

    @property
    def retry_windows(self) -> list[RetryWindow]:
        return list(self.flood.windows)

    @property
    def violations(self) -> list[RequestRecord]:
        """Message requests that arrived while a retry_after covering them still ran."""
        return [
            r
            for r in self.requests
            if r.method.lower() in MESSAGE_METHODS
            and r.chat_id is not None
            and any(w.covers(r.chat_id, r.at) for w in self.flood.windows)
        ]

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # ------------------------------------------------------------------ helpers

    def _hidden_by_privacy(self, chat: FakeChat, command: re.Match[str] | None) -> bool:
        # Privacy mode: in groups the bot gets commands (unaddressed, or addressed to it),
        # and everything if it is an admin there.
        if not self.privacy_mode or chat.is_admin(self.bot.id):
            return False
        if command is None:
            return True
        target = command.group(2)
        return target is not None and target.lower() != (self.bot.username or "").lower()

    def _user_message(self, user: FakeUser, chat: FakeChat, text: str | None = None) -> JSON:
        message: JSON = {
            "message_id": self._next_message_id(chat.id),
            "from": user.to_api(),
            "chat": chat.to_api(),
            "date": int(time.time()),
        }
        if text is not None:
            message["text"] = text
        return message

    def _member_update(self, chat: FakeChat, user: FakeUser, old: str, new: str) -> JSON:
        by = next((self.users[u] for u, s in chat.members.items() if s == "creator"), user)
        return {
            "chat": chat.to_api(),
            "from": by.to_api(),
            "date": int(time.time()),
            "old_chat_member": member_json(user, old),
            "new_chat_member": member_json(user, new),
        }

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _message_json(self, m: BotMessage) -> JSON:
        out: JSON = {
            "message_id": m.message_id,
            "from": self.bot.to_api(),
            "chat": self.chats[m.chat_id].to_api(),
            "date": m.date,
        }
        if m.kind == "text":
            out["text"] = m.text
        elif m.kind == "document" and m.document:
            out["document"] = m.document.to_api()
            if m.text:
                out["caption"] = m.text
        elif m.kind == "poll" and m.poll:
            out["poll"] = m.poll.to_api()
        if m.keyboard:
            out["reply_markup"] = {"inline_keyboard": m.keyboard}
        if m.edits:
            out["edit_date"] = int(time.time())
        return out

    def _chat_for(self, chat_id: int) -> FakeChat:
        chat = self.chats.get(chat_id)
        if chat is None and chat_id in self.users:
            chat = self.private_chat(self.users[chat_id])
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _writable_chat(self, params: Params, record: RequestRecord) -> FakeChat:
        """The chat a message method writes to, after the checks Telegram makes and the
        flood limits."""
        chat_id = params.int("chat_id")
        if chat_id is None:
            raise bad_request("chat_id is empty")
        record.chat_id = chat_id
        verdict = self.flood.active(chat_id, record.at)
        if verdict is None:
            chat = self._chat_for(chat_id)
            if chat.type == "private" and chat.user is not None:
                if chat.user.blocked:
                    raise ApiError(403, "Forbidden: bot was blocked by the user")
                if not chat.user.started:
                    raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            elif chat.migrated_to is not None:
                raise ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": chat.migrated_to},
                )
            elif chat.status(self.bot.id) == "kicked":
                raise ApiError(403, "Forbidden: bot was kicked from the group chat")
            elif chat.status(self.bot.id) == "left":
                raise ApiError(403, "Forbidden: bot is not a member of the group chat")
            verdict = self.flood.admit(chat.id, record.at)
            if verdict is None:
                return chat
        record.violation = verdict.violation
        raise ApiError(
            429,
            f"Too Many Requests: retry after {verdict.retry_after}",
            {"retry_after": verdict.retry_after},
        )

    def _post(self, chat: FakeChat, kind: str, text: str = "", **fields: Any) -> BotMessage:
        message = BotMessage(
            chat.id, self._next_message_id(chat.id), kind, text, sent_at=self.clock(), **fields
        )
        self._messages.setdefault(chat.id, {})[message.message_id] = message
        return message

    def _own_message(self, chat: FakeChat, params: Params) -> BotMessage:
        message_id = params.int("message_id")
        message = self._messages.get(chat.id, {}).get(message_id or 0)
        if message is None:
            raise bad_request("message to edit not found")
        return message

    @staticmethod
    def _keyboard(params: Params) -> Keyboard | None:
        markup = params.json("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return None
        for row in rows:
            for button in row:
                if not button.get("text"):
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise bad_request("BUTTON_DATA_INVALID")
        return rows

    @staticmethod
    def _check_text(text: str | None, limit: int = MAX_TEXT) -> str:
        if not text or not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > limit:
            raise bad_request("message is too long")
        return text

    # ------------------------------------------------------------------ updates

    def _update_kind(self, update: JSON) -> str:
        return next(k for k in update if k != "update_id")

    def _deliverable(self, limit: int) -> list[JSON]:
        allowed = set(self._allowed) if self._allowed else None
        batch: list[JSON] = []
        seen = 0  # only up to the batch: a bot far behind must not cost a scan of all
        for update in self._updates:
            if len(batch) == limit:
                break
            seen += 1
            kind = self._update_kind(update)
            if (kind in allowed) if allowed is not None else (kind not in NOT_BY_DEFAULT):
                batch.append(update)
        if len(batch) < seen:  # updates of kinds not asked for are never delivered
            self._updates[:seen] = batch
        return batch

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            ids = [u["update_id"] for u in self._updates[:1000]]  # in update_id order
            del self._updates[: bisect.bisect_left(ids, offset)]
            if ids and ids[-1] < offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    async def _m_getUpdates(self, p: Params, record: RequestRecord) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in p:
            self._allowed = p.json("allowed_updates") or None
        self._confirm(p.int("offset", 0) or 0)
        limit = min(max(p.int("limit", 100) or 100, 1), 100)
        deadline = record.at + max(0.0, p.float("timeout", 0.0))
        # A newer getUpdates ends one still waiting, as Telegram does.
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            batch = self._deliverable(limit)
            remaining = deadline - self.clock()
            if batch or remaining <= 0:
                return batch
            await wait_set(self._changed, remaining)

    async def _m_setWebhook(self, p: Params, record: RequestRecord) -> bool:
        url = p.str("url") or ""
        if not url:
            return await self._m_deleteWebhook(p, record)
        if "allowed_updates" in p:
            self._allowed = p.json("allowed_updates") or None
        if p.bool("drop_pending_updates", False):
            self._updates.clear()
        self.webhook = Webhook(url, p.str("secret_token"))
        await self._stop_webhook_delivery()
        self._webhook_task = asyncio.create_task(self._deliver_webhook())
        return True

    async def _m_deleteWebhook(self, p: Params, record: RequestRecord) -> bool:
        self.webhook = None
        await self._stop_webhook_delivery()
        if p.bool("drop_pending_updates", False):
            self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, p: Params, record: RequestRecord) -> JSON:
        return {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _stop_webhook_delivery(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver_webhook(self) -> None:
        assert self._session is not None
        while self.webhook is not None:
            batch = self._deliverable(1)
            if not batch:
                await self._changed.wait()
                continue
            update, hook = batch[0], self.webhook
            headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if (hook.secret_token) else {}
            urls = self.webhook_router(update) if self.webhook_router else [hook.url]

            async def post(url: str, update: JSON = update, headers: dict[str, str] = headers
                           ) -> int:
                assert self._session is not None
                try:
                    async with self._session.post(url, json=update, headers=headers) as resp:
                        return resp.status
                except aiohttp.ClientError:
                    return 0

            statuses = await asyncio.gather(*(post(url) for url in urls))
            status = next((s for s in statuses if 200 <= s < 300), max(statuses))
            self.webhook_deliveries.append(WebhookDelivery(update["update_id"], status, self.clock()))
            if 200 <= status < 300:
                self._confirm(update["update_id"] + 1)
                self._notify()
            else:
                await asyncio.sleep(self.webhook_retry_delay)

    # ------------------------------------------------------------------ methods

    async def _m_getMe(self, p: Params, record: RequestRecord) -> JSON:
        return {
            **self.bot.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
        }

    async def _m_sendMessage(self, p: Params, record: RequestRecord) -> JSON:
        text = self._check_text(p.str("text"))
        keyboard = self._keyboard(p)
        chat = self._writable_chat(p, record)
        return self._message_json(self._post(chat, "text", text, keyboard=keyboard))

    async def _m_editMessageText(self, p: Params, record: RequestRecord) -> JSON:
        text = self._check_text(p.str("text"))
        keyboard = self._keyboard(p)
        chat = self._writable_chat(p, record)
        message = self._own_message(chat, p)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        if message.text == text and message.keyboard == keyboard:
            raise bad_request(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        message.text, message.keyboard = text, keyboard
        message.edits.append((record.at, text))
        return self._message_json(message)

    async def _m_editMessageReplyMarkup(self, p: Params, record: RequestRecord) -> JSON:
        keyboard = self._keyboard(p)
        chat = self._writable_chat(p, record)
        message = self._own_message(chat, p)
        if message.keyboard == keyboard:
            raise bad_request(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        message.keyboard = keyboard
        message.edits.append((record.at, message.text))
        return self._message_json(message)

    async def _m_sendPoll(self, p: Params, record: RequestRecord) -> JSON:
        question = p.str("question") or ""
        if not 1 <= len(question) <= 300:
            raise bad_request("POLL_QUESTION_INVALID")
        raw = p.json("options", [])
        options = [o["text"] if isinstance(o, dict) else str(o) for o in raw]
        if not MIN_POLL_OPTIONS <= len(options) <= MAX_POLL_OPTIONS:
            raise bad_request("POLL_ANSWERS_INVALID")
        if any(not 1 <= len(o) <= 100 for o in options):
            raise bad_request("POLL_ANSWER_INVALID")
        if p.str("type", "regular") != "regular":
            raise bad_request("the fake supports regular polls only")
        keyboard = self._keyboard(p)
        chat = self._writable_chat(p, record)
        poll = FakePoll(
            id=str(5_000_000_000_000_000 + next(self._ids)),
            chat_id=chat.id,
            message_id=0,
            question=question,
            options=options,
            is_anonymous=p.bool("is_anonymous", True),
            allows_multiple_answers=p.bool("allows_multiple_answers", False),
        )
        message = self._post(chat, "poll", poll=poll, keyboard=keyboard)
        poll.message_id = message.message_id
        self.polls[poll.id] = poll
        return self._message_json(message)

    async def _m_stopPoll(self, p: Params, record: RequestRecord) -> JSON:
        chat = self._writable_chat(p, record)
        message = self._own_message(chat, p)
        if message.poll is None:
            raise bad_request("message with poll to stop not found")
        if message.poll.is_closed:
            raise bad_request("poll has already been closed")
        message.poll.is_closed = True
        self.push_update("poll", message.poll.to_api())
        return message.poll.to_api()

    async def _m_answerCallbackQuery(self, p: Params, record: RequestRecord) -> bool:
        query_id = p.str("callback_query_id") or ""
        if self._open_queries.pop(query_id, None) is None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = p.str("text") or ""
        if len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers.append(CallbackAnswer(query_id, text, p.bool("show_alert", False), record.at))
        return True

    async def _m_sendDocument(self, p: Params, record: RequestRecord) -> JSON:
        upload = p.upload("document")
        if upload is None:
            raise bad_request("there is no document in the request")
        caption = p.str("caption") or ""
        if utf16_len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        keyboard = self._keyboard(p)
        chat = self._writable_chat(p, record)
        n = next(self._ids)
        if isinstance(upload, Upload):
            document = Document(
                f"BQACAgQAAx{n:012d}",
                f"AgAD{n:06d}",
                upload.filename,
                upload.content_type,
                upload.content,
            )
        else:
            known = next(
                (
                    m.document
                    for ms in self._messages.values()
                    for m in ms.values()
                    if m.document and m.document.file_id == upload
                ),
                None,
            )
            if known is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            document = known
        message = self._post(chat, "document", caption, document=document, keyboard=keyboard)
        return self._message_json(message)

    async def _m_sendChatAction(self, p: Params, record: RequestRecord) -> bool:
        self._chat_for(p.int("chat_id") or 0)
        return True

    async def _m_getChat(self, p: Params, record: RequestRecord) -> JSON:
        chat = self._chat_for(p.int("chat_id") or 0)
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _m_getChatAdministrators(self, p: Params, record: RequestRecord) -> list[JSON]:
        chat = self._chat_for(p.int("chat_id") or 0)
        record.chat_id = chat.id
        if not chat.is_group:
            raise bad_request("there are no administrators in the private chat")
        return [
            member_json(self.bot if uid == self.bot.id else self.users[uid], status)
            for uid, status in chat.members.items()
            if status in ("creator", "administrator")
        ]

    async def _m_getChatMember(self, p: Params, record: RequestRecord) -> JSON:
        chat = self._chat_for(p.int("chat_id") or 0)
        user_id = p.int("user_id") or 0
        user = self.bot if user_id == self.bot.id else self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if chat.type == "private":
            return member_json(user, "member" if user_id in (chat.id, self.bot.id) else "left")
        return member_json(user, chat.status(user_id),
                           is_member=user_id not in chat.restricted_outside)

    def _commands_key(self, p: Params) -> tuple[str, str]:
        scope = p.json("scope") or {"type": "default"}
        return scope.get("type", "default"), p.str("language_code") or ""

    async def _m_setMyCommands(self, p: Params, record: RequestRecord) -> bool:
        commands = p.json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be a list of at most 100 BotCommand")
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(c.get("description", "")) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        language = p.str("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("LANG_CODE_INVALID")
        self.commands[self._commands_key(p)] = commands
        return True

    async def _m_getMyCommands(self, p: Params, record: RequestRecord) -> list[JSON]:
        return self.commands.get(self._commands_key(p), [])

    async def _m_deleteMyCommands(self, p: Params, record: RequestRecord) -> bool:
        self.commands.pop(self._commands_key(p), None)
        return True
