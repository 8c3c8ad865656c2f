"""Test doubles for the core's ports: a messenger that keeps a transcript, a chat driver."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import VirtualClock, advance
from bot.core.app import Core
from bot.core.messages import (
    Button,
    ChatRef,
    Inbound,
    OutFile,
    PollAnswer,
    ReactionRsvp,
    Reply,
    RsvpAction,
    RsvpAnswer,
    SentMessage,
    SentPoll,
    UserRef,
)
from bot.core.ports import CannotDM

PLATFORM = "fake"


@dataclass
class Sent:
    kind: str  # text, edit, poll, close_poll, file, dm
    to: str  # chat id or user id
    text: str = ""
    buttons: tuple[Button, ...] = ()
    options: tuple[str, ...] = ()
    file: OutFile | None = None
    message_id: str = ""
    key: str | None = None  # the outbox row's idempotency key


@dataclass
class RecordingMessenger:
    platform: str = PLATFORM
    sent: list[Sent] = field(default_factory=list)
    started: set[str] = field(default_factory=set)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _id(self) -> str:
        return str(next(self._ids))

    async def send_text(self, chat: ChatRef, text: str, buttons: Sequence[Button] = (), *,
                        key: str | None = None) -> SentMessage:
        mid = self._id()
        self.sent.append(Sent("text", chat.id, text, tuple(buttons), message_id=mid))
        return SentMessage(chat, mid)

    async def edit_text(self, chat: ChatRef, message_id: str, text: str,
                        buttons: Sequence[Button] = (), *, key: str | None = None) -> None:
        self.sent.append(Sent("edit", chat.id, text, tuple(buttons), message_id=message_id))

    async def send_poll(self, chat: ChatRef, question: str, options: Sequence[str],
                        multiple: bool, *, key: str | None = None) -> SentPoll:
        mid = self._id()
        self.sent.append(Sent("poll", chat.id, question, options=tuple(options), message_id=mid))
        return SentPoll(chat, mid, f"poll-{mid}")

    async def close_poll(self, poll: SentPoll, *, key: str | None = None) -> None:
        self.sent.append(Sent("close_poll", poll.chat.id, message_id=poll.message_id))

    async def send_file(self, chat: ChatRef, file: OutFile, caption: str = "", *,
                        key: str | None = None) -> SentMessage:
        mid = self._id()
        self.sent.append(Sent("file", chat.id, caption, file=file, message_id=mid))
        return SentMessage(chat, mid)

    async def send_dm(self, user: UserRef, text: str, file: OutFile | None = None, *,
                      key: str | None = None, buttons: Sequence[Button] = ()) -> SentMessage:
        if user.id not in self.started:
            raise CannotDM(user)
        mid = self._id()
        self.sent.append(Sent("dm", user.id, text, tuple(buttons), file=file, message_id=mid,
                              key=key))
        return SentMessage(ChatRef(self.platform, f"dm-{user.id}"), mid)

    def start_hint(self, user: UserRef) -> str:
        return ""

    # --- reading the transcript --------------------------------------------------------------
    def take(self) -> list[Sent]:
        out, self.sent = self.sent, []
        return out

    def dms(self, user: str) -> list[Sent]:
        return [s for s in self.sent if s.kind == "dm" and s.to == user]

    def group_texts(self, chat: str = "group") -> list[str]:
        return [s.text for s in self.sent if s.kind == "text" and s.to == chat]


class Chat:
    """Drives the core as members of one group chat would."""

    def __init__(self, core: Core, messenger: RecordingMessenger, clock: VirtualClock,
                 chat_id: str = "group", admins: Sequence[str] = ("alice",)) -> None:
        self.core, self.messenger, self.clock = core, messenger, clock
        self.chat = ChatRef(messenger.platform, chat_id)
        self.admins = set(admins)

    def user(self, name: str) -> UserRef:
        return UserRef(self.messenger.platform, name, name.capitalize())

    async def say(self, name: str, text: str) -> list[Sent]:
        """`name` writes in the group; returns what the bot sent in response."""
        start = len(self.messenger.sent)
        await self.core.handle_message(Inbound(self.chat, self.user(name), text, False,
                                               name in self.admins))
        return self._new(start)

    def _new(self, start: int) -> list[Sent]:
        """What the bot sent since `start`, leaving out silent edits of earlier messages."""
        return [s for s in self.messenger.sent[start:] if s.kind != "edit"]

    async def dm(self, name: str, text: str) -> list[Sent]:
        start = len(self.messenger.sent)
        self.messenger.started.add(name)
        await self.core.handle_message(Inbound(ChatRef(self.messenger.platform, f"dm-{name}"),
                                               self.user(name), text, True, False))
        return self._new(start)

    async def press(self, name: str, payload: str) -> Reply:
        return await self.core.handle_rsvp_action(RsvpAction(self.chat, self.user(name), payload,
                                                             name in self.admins))

    async def press_in_dm(self, name: str, payload: str) -> Reply:
        """`name` taps a button under a message the bot sent them privately."""
        return await self.core.handle_rsvp_action(RsvpAction(
            ChatRef(self.messenger.platform, f"dm-{name}"), self.user(name), payload))

    async def answer_poll(self, name: str, platform_poll_id: str, indexes: Sequence[int]) -> None:
        await self.core.handle_poll_answer(PollAnswer(self.messenger.platform, platform_poll_id,
                                                      self.user(name), tuple(indexes)))

    async def react(self, name: str, message_id: str, answer: RsvpAnswer | None) -> None:
        await self.core.handle_reaction(ReactionRsvp(self.chat, self.user(name), message_id,
                                                     answer))

    async def advance(self, delta: timedelta) -> list[Sent]:
        start = len(self.messenger.sent)
        await advance(self.core, self.clock, delta)
        return self._new(start)
