"""Platform-neutral values that cross the line between the adapters and the core."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class ChatRef:
    """A chat on one platform: a group, a room or a private chat."""

    platform: str  # "telegram", "matrix", "console"
    id: str


@dataclass(frozen=True)
class UserRef:
    """A person as one platform knows them."""

    platform: str
    id: str
    display_name: str = ""

    @property
    def name(self) -> str:
        return self.display_name or self.id


@dataclass(frozen=True)
class Inbound:
    """A text message that reached the bot."""

    chat: ChatRef
    sender: UserRef
    text: str
    is_private: bool = False
    sender_is_admin: bool = False
    message_id: str | None = None


@dataclass(frozen=True)
class ChatPost:
    """A message that is no command but carries a "#": it may be a post for a live wall
    (bot/core/wall.py). Adapters hand over only such messages; `photo`, when the message is a
    photo, downloads it, and `avatar` the sender's profile picture when they have one (None
    when not); both are called only when the message goes to a wall."""

    chat: ChatRef
    sender: UserRef
    text: str
    is_private: bool = False
    message_id: str | None = None
    photo: Callable[[], Awaitable[bytes]] | None = None
    avatar: Callable[[], Awaitable[bytes | None]] | None = None


class RsvpAnswer(StrEnum):
    YES = "yes"
    MAYBE = "maybe"
    NO = "no"


@dataclass(frozen=True)
class PollAnswer:
    """A vote that arrived as a native poll answer (Telegram poll_answer, Matrix poll response).

    `option_indexes` are 0-based positions in the options as they were posted; an empty
    tuple takes the vote back. The poll is found through the platform poll id the adapter
    returned from `Messenger.send_poll`.
    """

    platform: str
    platform_poll_id: str
    voter: UserRef
    option_indexes: tuple[int, ...]
    event_id: str | None = None  # the platform's id of this answer: a repeat is ignored


@dataclass(frozen=True)
class PollEnd:
    """Someone other than the bot ended one of its polls on the platform (Matrix lets a room's
    moderators end any poll): closed as by /closepoll when they are an organiser."""

    chat: ChatRef
    platform_poll_id: str
    sender: UserRef
    sender_is_admin: bool = False
    event_id: str | None = None


@dataclass(frozen=True)
class RsvpAction:
    """A button press or reaction meaning "going / maybe / can't" for one meetup.

    `payload` is the raw button payload (`rsvp:<meetup id>:<answer>`) as it came from the
    platform; the core checks it, so a forged one changes nothing. `chat` is where it
    was pressed.
    """

    chat: ChatRef
    sender: UserRef
    payload: str
    sender_is_admin: bool = False
    event_id: str | None = None  # a repeated press (the same callback) is answered once


@dataclass(frozen=True)
class Button:
    label: str
    payload: str  # "type:id:action", at most 64 bytes (Telegram's callback_data limit)


@dataclass(frozen=True)
class OutFile:
    filename: str
    content: bytes
    mime_type: str = "text/calendar"


@dataclass(frozen=True)
class SentMessage:
    """What the platform gave back for a message the bot posted."""

    chat: ChatRef
    message_id: str


@dataclass(frozen=True)
class SentPoll:
    chat: ChatRef
    message_id: str
    platform_poll_id: str


@dataclass(frozen=True)
class Reply:
    """What the core answers to a button press: a short toast text (Telegram's
    answerCallbackQuery) and whether the action was accepted."""

    text: str
    accepted: bool = True


@dataclass
class Outcome:
    """Result of handling one inbound event, for the adapter: nothing to do by default."""

    toast: Reply | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReactionRsvp:
    """A reaction (Matrix) on a message the bot posted; `answer=None` means it was removed."""

    chat: ChatRef
    sender: UserRef
    message_id: str
    answer: RsvpAnswer | None
    event_id: str | None = None
