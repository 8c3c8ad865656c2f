"""What a use case is handed: `Work` (the open transaction, its outbox, the ports, the time),
and for a command `Ctx`, the same plus who wrote what where."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UserError
from bot.core.i18n import Translate
from bot.core.messages import Button, ChatRef, UserRef
from bot.core.outbox import Outbox
from bot.core.ports import Clock, Messenger, Metrics, NoMetrics, NoWall, WallBus
from bot.core.settings import CoreSettings
from bot.db.models import Chapter, Membership, Person


def _ignore(_when: datetime) -> None:
    return None


def _nothing() -> None:
    return None


@dataclass
class Services:
    """The ports and settings, the same for every unit of work (cosmicpython style: no
    globals). `due_changed` tells the scheduler that a row falls due at a given moment;
    `metrics` counts what the operator watches."""

    messengers: Mapping[str, Messenger]
    clock: Clock
    settings: CoreSettings
    due_changed: Callable[[datetime], None] = _ignore
    metrics: Metrics = field(default_factory=NoMetrics)
    wall: WallBus = field(default_factory=NoWall)
    # A wall opened or closed here: the hashtags kept in memory are read again (wall.py).
    wall_tags_changed: Callable[[], None] = _nothing

    def messenger(self, platform: str) -> Messenger:
        try:
            return self.messengers[platform]
        except KeyError:
            raise RuntimeError(f"no messenger for platform {platform!r}") from None

    def serves(self, platform: str) -> bool:
        return platform in self.messengers


@dataclass
class Work:
    """One unit of work: its transaction `s`, the `out`box sent after the commit, the
    services, and the moment it started."""

    s: AsyncSession
    out: Outbox
    svc: Services
    now: datetime


@dataclass
class Ctx(Work):
    """A command being handled: the unit of work plus who sent it, where, in which language."""

    chat: ChatRef
    sender: UserRef
    is_private: bool
    is_admin: bool
    person: Person
    chapter: Chapter | None
    membership: Membership | None
    lang: str
    _: Translate = field(repr=False)

    @property
    def is_organiser(self) -> bool:
        return self.is_admin or bool(self.membership and self.membership.is_organiser)

    def require_chapter(self) -> Chapter:
        if self.chapter is None:
            if self.is_private:
                raise UserError("Send this in your chapter's group chat.")
            raise UserError("This chat is not a chapter yet. An admin can set it up, e.g. "
                            "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
        return self.chapter

    def require_organiser(self) -> Chapter:
        chapter = self.require_chapter()
        if not self.is_organiser:
            raise UserError("Only organisers can do that.")
        return chapter

    def require_group(self) -> None:
        if self.is_private:
            raise UserError("Send this in your chapter's group chat.")

    def require_private(self) -> None:
        if not self.is_private:
            raise UserError("Send this to me in a private chat.")

    def reply(self, text: str, buttons: Sequence[Button] = ()) -> None:
        """Answer in the chat the command came from, before anything else it causes."""
        self.out.reply(self.chat, text, buttons)
