"""What the core needs from the outside world. Each adapter implements `Messenger`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

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
    """The outbound port for one platform.

    `key` is the same for every attempt to send one outbox row: a platform that can (Matrix's
    transaction ids) uses it so that a resend after a crash is posted once."""

    platform: str

    async def send_text(
        self, chat: ChatRef, text: str, buttons: Sequence[Button] = (), *, key: str | None = None
    ) -> SentMessage: ...

    async def edit_text(
        self, chat: ChatRef, message_id: str, text: str, buttons: Sequence[Button] = (),
        *, key: str | None = None,
    ) -> None: ...

    async def send_poll(
        self, chat: ChatRef, question: str, options: Sequence[str], multiple: bool,
        *, key: str | None = None,
    ) -> SentPoll: ...

    async def close_poll(self, poll: SentPoll, *, key: str | None = None) -> None: ...

    async def send_file(
        self, chat: ChatRef, file: OutFile, caption: str = "", *, key: str | None = None
    ) -> SentMessage: ...

    async def send_dm(
        self, user: UserRef, text: str, file: OutFile | None = None, *, key: str | None = None,
        buttons: Sequence[Button] = (),
    ) -> SentMessage:
        """Raises CannotDM when the platform refuses. `buttons` as under a group's post (RSVP:
        Matrix shows them as reactions); the returned chat is the private chat it went to."""
        ...

    def start_hint(self, user: UserRef) -> str:
        """How a person unlocks DMs on this platform (a deep link, or a plain sentence)."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, UTC."""
        ...


@runtime_checkable
class Paced(Protocol):
    """What a messenger offers when its platform limits the messages a chat takes: how long
    until a message to `chat` would go out without waiting for that chat's own limit. The
    core waits that out before it takes a place among its senders, so a group's limit never
    holds a place that other chats need."""

    def ready_in(self, chat: ChatRef) -> float: ...


@runtime_checkable
class MemberCheck(Protocol):
    """What a messenger offers when its platform lets outsiders answer a poll: whether a
    person is a member of a chat. Raises when the platform can't say now (the vote is then
    tried again later, like any event that failed)."""

    async def is_member(self, chat: ChatRef, user: UserRef) -> bool: ...


class Metrics(Protocol):
    """What the operator counts (GET /metrics; bot/web/metrics.py implements it with
    prometheus-client). Each call is quick, never raises, and may come from any thread."""

    def command(self, name: str, platform: str) -> None:
        """A command the core handles (past the per-member limit); `name` is the command's
        own name (an alias counts as its command), "unknown" for one the bot doesn't know."""
        ...

    def replied(self, platform: str, seconds: float) -> None:
        """The first message a command's handling sends (its reply, or its refusal) went out
        this long after the command reached the core."""
        ...

    def reminder(self, outcome: str, lateness_s: float | None = None) -> None:
        """A reminder ended "sent" (`lateness_s`: sent_at - due_at), "failed" or "skipped"
        (too late after a downtime, the meetup cancelled, the member no longer going)."""
        ...

    def dm_refused(self, platform: str) -> None:
        """A DM that no account of the person accepted (CannotDM); `platform` is the last
        account's that refused."""
        ...

    def retried(self, platform: str, reason: str) -> None:
        """A platform call tried again: "rate_limited" (a 429: Telegram's RetryAfter, Matrix's
        M_LIMIT_EXCEEDED), "network" or "server_error"."""
        ...


class NoMetrics:
    """Metrics nobody reads: the default, and what the core's tests run with."""

    def command(self, name: str, platform: str) -> None:
        return None

    def replied(self, platform: str, seconds: float) -> None:
        return None

    def reminder(self, outcome: str, lateness_s: float | None = None) -> None:
        return None

    def dm_refused(self, platform: str) -> None:
        return None

    def retried(self, platform: str, reason: str) -> None:
        return None
class WallBus(Protocol):
    """Where the live wall (bot/core/wall.py) meets the web server, which implements it: the
    wall's public address, the config's word blocklist, the photo folder, and the live events
    a wall's open pages get (`publish`, called after the commit, from the bot's thread)."""

    @property
    def blocklist(self) -> Sequence[str]: ...

    def wall_url(self, wall_id: str) -> str | None:
        """The wall page's public address; None when no web server is configured."""
        ...

    def publish(self, event: dict[str, Any]) -> None: ...

    async def save_photo(self, name: str, data: bytes, side: int | None = None) -> bool:
        """Shrink (to `side` px at most, else the wall's photo size), strip and keep a photo
        under `name`; False when it isn't one."""
        ...


class NoWall:
    """The WallBus of a bot without a web server: /wall says it needs one."""

    @property
    def blocklist(self) -> Sequence[str]:
        return ()

    def wall_url(self, wall_id: str) -> str | None:
        return None

    def publish(self, event: dict[str, Any]) -> None:
        return None

    async def save_photo(self, name: str, data: bytes, side: int | None = None) -> bool:
        return False
