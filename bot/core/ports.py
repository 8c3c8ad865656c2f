"""What the core needs from the outside world. Each adapter implements `Messenger`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.core.messages import Button, ChatRef, OutFile, SentMessage, SentPoll, UserRef


class CannotDM(Exception):
    """The platform refused a direct message: the person never started the bot or blocked it.

    `start_hint` is what the adapter wants people told to fix it, e.g. a t.me deep link.
    """

    def __init__(self, user: UserRef, start_hint: str = "") -> None:
        super().__init__(f"cannot DM {user.platform}:{user.id}")
        self.user = user
        self.start_hint = start_hint


class Messenger(Protocol):
    """The outbound port for one platform."""

    platform: str

    async def send_text(
        self, chat: ChatRef, text: str, buttons: Sequence[Button] = ()
    ) -> SentMessage: ...

    async def edit_text(
        self, chat: ChatRef, message_id: str, text: str, buttons: Sequence[Button] = ()
    ) -> None: ...

    async def send_poll(
        self, chat: ChatRef, question: str, options: Sequence[str], multiple: bool
    ) -> SentPoll: ...

    async def close_poll(self, poll: SentPoll) -> None: ...

    async def send_file(self, chat: ChatRef, file: OutFile, caption: str = "") -> SentMessage: ...

    async def send_dm(
        self, user: UserRef, text: str, file: OutFile | None = None
    ) -> SentMessage:
        """Raises CannotDM when the platform refuses."""
        ...

    def start_hint(self, user: UserRef) -> str:
        """How a person unlocks DMs on this platform (a deep link, or a plain sentence)."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, UTC."""
        ...
