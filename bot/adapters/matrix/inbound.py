"""Room events from other people -> calls on the core."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from bot.adapters.matrix import media
from bot.adapters.matrix.content import (
    POLL_END_TYPES,
    POLL_RESPONSE_TYPES,
    command_text,
    poll_selections,
    reaction_answer,
    relation,
    selection_indexes,
    strip_reply_fallback,
)
from bot.adapters.matrix.direct import DirectRooms
from bot.adapters.matrix.messenger import PLATFORM, MatrixMessenger, text_content
from bot.adapters.matrix.polls import PollBook
from bot.adapters.matrix.rooms import RoomDirectory
from bot.adapters.matrix.rsvp import Reactions, RsvpMessages
from bot.adapters.matrix.state import StateStore, state_key
from bot.core.i18n import N_
from bot.core.messages import (
    ChatPost,
    ChatRef,
    Inbound,
    PollAnswer,
    PollEnd,
    ReactionRsvp,
    UserRef,
)

log = logging.getLogger(__name__)

UNDECRYPTABLE_NOTICE = N_(
    "{name}, I couldn't read your message: your app didn't give me its key. Send it again; "
    "if that doesn't help, sign out of your app and in again, or start a new session.")
ENCRYPTED_NOTICE = N_(
    "I can't read encrypted rooms yet, so I don't see any commands here. "
    "Please use me in a room without encryption."
)

Event = Mapping[str, Any]


class CoreSink(Protocol):
    """The part of bot.core.app.Core this adapter calls."""

    async def handle_message(self, msg: Inbound) -> None: ...

    async def handle_post(self, post: ChatPost) -> bool: ...

    async def handle_poll_answer(self, answer: PollAnswer) -> None: ...

    async def handle_reaction(self, reaction: ReactionRsvp) -> None: ...

    async def handle_poll_end(self, end: PollEnd) -> None: ...

    async def is_chapter_chat(self, chat: ChatRef) -> bool: ...


class EventRouter:
    def __init__(
        self,
        core: CoreSink | None,
        messenger: MatrixMessenger,
        rooms: RoomDirectory,
        direct: DirectRooms,
        polls: PollBook,
        store: StateStore,
        rsvp_messages: RsvpMessages,
    ) -> None:
        self.core = core
        self._messenger = messenger
        self._rooms = rooms
        self._direct = direct
        self._polls = polls
        self._store = store
        self._reactions = Reactions(store)
        self._rsvp_messages = rsvp_messages

    def _core(self) -> CoreSink:
        if self.core is None:
            raise RuntimeError("MatrixAdapter has no core: call adapter.bind(core) first")
        return self.core

    async def _user(self, room_id: str, user_id: str) -> UserRef:
        return UserRef(PLATFORM, user_id, await self._rooms.display_name(room_id, user_id))

    async def dispatch(self, room_id: str, event: Event) -> bool:
        """Hands the event on; False when it was nothing for the bot (chatter, a reaction
        under someone else's message), which then costs no database write."""
        etype = event.get("type")
        if etype == "m.room.message":
            return await self._message(room_id, event)
        if etype == "m.reaction":
            return await self._reaction(room_id, event)
        if etype in POLL_RESPONSE_TYPES:
            await self._poll_response(room_id, event)
        elif etype in POLL_END_TYPES:
            await self._poll_end(room_id, event)
        elif etype == "m.room.redaction":
            await self._redaction(room_id, event)
        elif etype == "m.room.encrypted":
            await self.encrypted_room(room_id)
        else:
            return False
        return True

    async def _message(self, room_id: str, event: Event) -> bool:
        content = event.get("content") or {}
        body = content.get("body")
        if content.get("msgtype") == "m.image" and isinstance(body, str):
            return await self._image(room_id, event, content, body)
        if content.get("msgtype") != "m.text" or not isinstance(body, str):
            return False
        rel = relation(content)
        if rel is not None and rel[0] == "m.replace":
            return False  # an edit must not run a command a second time
        text = command_text(strip_reply_fallback(body))
        sender = str(event["sender"])
        if not text.startswith("/"):
            if "#" not in text:
                return False  # chatter: not even the room's state is needed
            # Maybe a post for a live wall (bot/core/wall.py checks the hashtag).
            return await self._core().handle_post(await self._post(room_id, event, text))
        msg = Inbound(
            chat=ChatRef(PLATFORM, room_id),
            sender=await self._user(room_id, sender),
            text=text,
            is_private=self._direct.is_direct(room_id),
            sender_is_admin=await self._rooms.is_organiser(room_id, sender),
            message_id=str(event.get("event_id")),
        )
        await self._core().handle_message(msg)
        return True

    async def _post(self, room_id: str, event: Event, text: str,
                    photo: Callable[[], Awaitable[bytes]] | None = None) -> ChatPost:
        """A wall post candidate; its sender's avatar is downloaded only when the core
        takes it for a wall."""
        sender = str(event["sender"])
        mxc = await self._rooms.avatar_url(room_id, sender)
        client = self._rooms.client

        async def avatar() -> bytes | None:
            return await media.avatar(client, mxc) if mxc else None

        return ChatPost(chat=ChatRef(PLATFORM, room_id), sender=await self._user(room_id, sender),
                        text=text, is_private=self._direct.is_direct(room_id),
                        message_id=str(event.get("event_id")), photo=photo,
                        avatar=avatar if mxc else None)

    async def _image(self, room_id: str, event: Event, content: Event, body: str) -> bool:
        """A picture whose caption (its body) carries a "#": maybe a wall photo; it is
        downloaded (and decrypted, in an encrypted room) only when it goes on a wall."""
        extra = content.get("caption")
        caption = extra if isinstance(extra, str) else body
        source = media.image_source(content)
        if "#" not in caption or source is None:
            return False
        client = self._rooms.client

        async def photo() -> bytes:
            return await media.image(client, source[0], source[1])

        return await self._core().handle_post(
            await self._post(room_id, event, caption.strip(), photo))

    async def _poll_response(self, room_id: str, event: Event) -> None:
        content = event.get("content") or {}
        rel = relation(content)
        if rel is None or rel[0] != "m.reference":
            return
        poll = await self._polls.get(rel[1])
        if poll is None or poll.closed or poll.room_id != room_id:
            return  # not ours, or after the end event: MSC3381 says it doesn't count
        ids = poll_selections(str(event.get("type")), content) or []
        answer = PollAnswer(
            platform=PLATFORM,
            platform_poll_id=rel[1],
            voter=await self._user(room_id, str(event["sender"])),
            option_indexes=selection_indexes(ids, poll.options, poll.max_selections),
            event_id=str(event["event_id"]),
        )
        await self._core().handle_poll_answer(answer)

    async def _poll_end(self, room_id: str, event: Event) -> None:
        """A moderator ended the bot's poll in Element: the core closes it if they organise."""
        rel = relation(event.get("content") or {})
        if rel is None or rel[0] != "m.reference":
            return
        poll = await self._polls.get(rel[1])
        if poll is None or poll.closed or poll.room_id != room_id:
            return
        sender = str(event["sender"])
        await self._core().handle_poll_end(PollEnd(
            chat=ChatRef(PLATFORM, room_id),
            platform_poll_id=rel[1],
            sender=await self._user(room_id, sender),
            sender_is_admin=await self._rooms.is_organiser(room_id, sender),
            event_id=str(event["event_id"]),
        ))

    async def _reaction(self, room_id: str, event: Event) -> bool:
        rel = (event.get("content") or {}).get("m.relates_to") or {}
        key = rel.get("key")
        target = rel.get("event_id")
        if rel.get("rel_type") != "m.annotation" or not isinstance(key, str):
            return False
        answer = reaction_answer(key)
        if answer is None or not isinstance(target, str):
            return False
        if not await self._rsvp_messages.contains(target):
            return False  # a ✅ under chatter is not an RSVP
        sender = str(event["sender"])
        event_id = str(event["event_id"])
        if not await self._reactions.added(event_id, target, sender, answer):
            return True  # read again after a crash, and taken away since: the removal stands
        await self._core().handle_reaction(
            ReactionRsvp(ChatRef(PLATFORM, room_id), await self._user(room_id, sender),
                         target, answer, event_id=event_id)
        )
        return True

    async def _redaction(self, room_id: str, event: Event) -> None:
        content = event.get("content") or {}
        # Room version 11 moved `redacts` into the content; older versions have it on top.
        redacts = content.get("redacts") or event.get("redacts")
        if not isinstance(redacts, str):
            return
        redaction_id = str(event["event_id"])
        change = await self._reactions.removed(redaction_id, redacts)
        if change is None:
            return
        target, sender, answer = change
        # The redaction's own id: the core records it, so a re-read removal counts once.
        await self._core().handle_reaction(
            ReactionRsvp(ChatRef(PLATFORM, room_id), await self._user(room_id, sender),
                         target, answer, event_id=redaction_id)
        )

    async def undecryptable(self, room_id: str, event: Event) -> None:
        """A message whose key never came: its sender hears it once, in that room."""
        sender = str(event.get("sender", ""))
        key = state_key("undecryptable:", f"{room_id}|{sender}")
        if await self._store.get(key) == str(event.get("event_id")):
            return
        await self._store.set(key, str(event.get("event_id")))
        name = await self._rooms.display_name(room_id, sender)
        log.warning("matrix: %s from %s in %s could not be decrypted; told them",
                    event.get("event_id"), sender, room_id)
        notice = self._messenger.translate(UNDECRYPTABLE_NOTICE, name=name)
        await self._messenger.send_event(room_id, "m.room.message", text_content(notice))

    async def encrypted_room(self, room_id: str) -> None:
        """Says once per room, ever, that encrypted rooms can't be served."""
        key = state_key("e2ee_notice:", room_id)
        if await self._store.get(key):
            return
        await self._store.set(key, "1")
        log.warning("matrix: room %s is encrypted; told it once that I can't read it", room_id)
        notice = self._messenger.translate(ENCRYPTED_NOTICE)
        await self._messenger.send_event(room_id, "m.room.message", text_content(notice))
