"""What a use case works with: the open unit of work, the person, the chapter, the ports."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UserError
from bot.core.i18n import Translate, translator
from bot.core.messages import Button, ChatRef, OutFile, UserRef
from bot.core.outbox import Posted, outbox_of
from bot.core.ports import CannotDM, Clock, Messenger
from bot.core.settings import CoreSettings
from bot.db.models import Chapter, ChatBinding, DmHint, Identity, Membership, Person

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The ports, handed to every use case (cosmicpython style: no globals)."""

    messengers: Mapping[str, Messenger]
    clock: Clock
    settings: CoreSettings
    due_changed: Callable[[datetime], None] = lambda _when: None

    def messenger(self, platform: str) -> Messenger:
        try:
            return self.messengers[platform]
        except KeyError:
            raise RuntimeError(f"no messenger for platform {platform!r}") from None


@dataclass
class Ctx:
    """One inbound event being handled inside one transaction."""

    s: AsyncSession
    svc: Services
    now: datetime
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
        """Answer in the chat the command came from (sent once the unit of work commits)."""
        outbox_of(self.s).text(self.chat, text, buttons)


async def person_for(s: AsyncSession, user: UserRef, now: datetime) -> tuple[Person, Identity]:
    identity = await s.scalar(
        select(Identity).where(
            Identity.platform == user.platform, Identity.platform_user_id == user.id
        )
    )
    name = (user.display_name or user.id)[:120]
    if identity is None:
        person = Person(display_name=name, created_at=now)
        s.add(person)
        await s.flush()
        identity = Identity(person_id=person.id, platform=user.platform,
                            platform_user_id=user.id, display_name=name, dm_started=False)
        s.add(identity)
        await s.flush()
        return person, identity
    person = await s.get_one(Person, identity.person_id)
    if identity.display_name != name:
        identity.display_name = name
        person.display_name = name
    return person, identity


async def chapter_for_chat(s: AsyncSession, chat: ChatRef) -> Chapter | None:
    return await s.scalar(
        select(Chapter).join(ChatBinding, ChatBinding.chapter_id == Chapter.id).where(
            ChatBinding.platform == chat.platform, ChatBinding.chat_id == chat.id
        )
    )


async def ensure_membership(s: AsyncSession, chapter: Chapter, person: Person,
                            now: datetime) -> Membership:
    membership = await s.scalar(
        select(Membership).where(
            Membership.chapter_id == chapter.id, Membership.person_id == person.id
        )
    )
    if membership is None:
        membership = Membership(chapter_id=chapter.id, person_id=person.id,
                                is_organiser=False, joined_at=now)
        s.add(membership)
        await s.flush()
    return membership


async def chapter_chats(s: AsyncSession, chapter_id: int) -> list[ChatRef]:
    rows = await s.scalars(select(ChatBinding).where(ChatBinding.chapter_id == chapter_id)
                           .order_by(ChatBinding.id))
    return [ChatRef(b.platform, b.chat_id) for b in rows]


async def post_to_chapter(
    s: AsyncSession, svc: Services, chapter_id: int, text: str, buttons: Sequence[Button] = (),
    record: Posted | None = None,
) -> None:
    """Post in every chat of the chapter (on the platforms this bot serves)."""
    for chat in await chapter_chats(s, chapter_id):
        if chat.platform in svc.messengers:
            outbox_of(s).text(chat, text, buttons, record)


def person_language(person: Person, chapter: Chapter | None, svc: Services) -> str:
    return person.language or (chapter.language if chapter else svc.settings.default_language)


def person_timezone(person: Person, chapter: Chapter | None, svc: Services) -> str:
    return person.timezone or (chapter.timezone if chapter else svc.settings.default_timezone)


async def send_dm(
    s: AsyncSession, svc: Services, person: Person, chapter: Chapter, meetup_id: int | None,
    text: str, file: OutFile | None = None, targets: list[UserRef] | None = None,
) -> None:
    """DM a person on a platform the chapter uses. When the platform refuses, the person is
    named once per meetup in the chapter's chat with a hint how to start the bot.
    `targets` (from dm_targets_of) saves a query per person when DMing many."""
    if targets is None:
        targets = await dm_targets(s, svc, person.id)
    if targets:
        outbox_of(s).dm(targets, text, file, (person.id, chapter.id, meetup_id))


async def dm_targets(s: AsyncSession, svc: Services, person_id: int) -> list[UserRef]:
    """The person's accounts on platforms we serve, those that opened a DM with us first."""
    return (await dm_targets_of(s, svc, [person_id]))[person_id]


async def dm_targets_of(s: AsyncSession, svc: Services,
                        person_ids: Sequence[int]) -> dict[int, list[UserRef]]:
    """dm_targets for many people in one query."""
    targets: dict[int, list[UserRef]] = {pid: [] for pid in person_ids}
    if not targets:
        return targets
    identities = await s.scalars(select(Identity).where(Identity.person_id.in_(list(targets)))
                                 .order_by(Identity.dm_started.desc(), Identity.id))
    for i in identities:
        if i.platform in svc.messengers:
            targets[i.person_id].append(UserRef(i.platform, i.platform_user_id, i.display_name))
    return targets


async def dm_failed(s: AsyncSession, svc: Services, now: datetime, person: Person,
                    chapter: Chapter, meetup_id: int | None, failure: CannotDM) -> None:
    """Remember the refusal and name the person once per meetup in the chapter's chat."""
    identity = await s.scalar(select(Identity).where(
        Identity.platform == failure.user.platform,
        Identity.platform_user_id == failure.user.id))
    if identity is not None:
        identity.dm_started = False
    if meetup_id is not None:
        seen = await s.scalar(select(DmHint).where(DmHint.person_id == person.id,
                                                   DmHint.meetup_id == meetup_id))
        if seen is not None:
            return
        s.add(DmHint(person_id=person.id, meetup_id=meetup_id, created_at=now))
        await s.flush()
    _ = translator(chapter.language)
    hint = failure.start_hint or svc.messenger(failure.user.platform).start_hint(failure.user)
    # An adapter's hint is used when it is a link; its sentences would be in English only.
    if hint.startswith(("https://", "http://")):
        text = _("{name}, I can't send you private messages yet. Tap {link} and press Start, "
                 "so I can send you reminders.", name=failure.user.name, link=hint)
    else:
        text = _("{name}, I can't send you private messages yet. Open a private chat with me "
                 "and send /start, so I can send you reminders.", name=failure.user.name)
    for chat in await chapter_chats(s, chapter.id):
        if chat.platform == failure.user.platform:
            outbox_of(s).text(chat, text)
