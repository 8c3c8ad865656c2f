"""Who someone is: a person behind each platform account, their membership of a chapter,
the language and timezone to use with them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.messages import ChatRef, UserRef
from bot.core.settings import CoreSettings
from bot.db.models import Chapter, ChatAdmin, ChatBinding, Identity, Membership, Person


async def person_for(s: AsyncSession, user: UserRef, now: datetime) -> tuple[Person, Identity]:
    """The person behind a platform account, made on first contact; their name kept current.
    Two first actions of one person at once (PostgreSQL runs them side by side) make one
    person: the second insert waits for the first, fails on the unique account, and reads it."""
    name = (user.display_name or user.id)[:120]
    identity = await _identity(s, user)
    if identity is None:
        try:
            async with s.begin_nested():
                person = Person(display_name=name, created_at=now)
                s.add(person)
                await s.flush()
                identity = Identity(person_id=person.id, platform=user.platform,
                                    platform_user_id=user.id, display_name=name,
                                    dm_started=False)
                s.add(identity)
                await s.flush()
            return person, identity
        except IntegrityError:
            identity = await _identity(s, user)
            if identity is None:
                raise
    person = await s.get_one(Person, identity.person_id)
    if identity.display_name != name:
        identity.display_name = name
        person.display_name = name
    return person, identity


async def _identity(s: AsyncSession, user: UserRef) -> Identity | None:
    return await s.scalar(select(Identity).where(Identity.platform == user.platform,
                                                 Identity.platform_user_id == user.id))


async def ensure_membership(s: AsyncSession, chapter: Chapter, person: Person,
                            now: datetime) -> Membership:
    """The person's membership of the chapter, made on first contact (once, as above)."""
    membership = await _membership(s, chapter, person)
    if membership is None:
        try:
            async with s.begin_nested():
                membership = Membership(chapter_id=chapter.id, person_id=person.id,
                                        is_organiser=False, joined_at=now)
                s.add(membership)
                await s.flush()
        except IntegrityError:
            membership = await _membership(s, chapter, person)
            if membership is None:
                raise
    return membership


async def _membership(s: AsyncSession, chapter: Chapter, person: Person) -> Membership | None:
    return await s.scalar(select(Membership).where(Membership.chapter_id == chapter.id,
                                                   Membership.person_id == person.id))


def person_language(person: Person, chapter: Chapter | None, settings: CoreSettings) -> str:
    return person.language or (chapter.language if chapter else settings.default_language)


def person_timezone(person: Person, chapter: Chapter | None, settings: CoreSettings) -> str:
    return person.timezone or (chapter.timezone if chapter else settings.default_timezone)


async def home_language(s: AsyncSession, person: Person, settings: CoreSettings) -> str:
    """For a DM: the person's own choice, else the language of one of their chapters."""
    if person.language:
        return person.language
    chapter = await s.scalar(select(Chapter).join(Membership, Membership.chapter_id
                                                  == Chapter.id)
                             .where(Membership.person_id == person.id).limit(1))
    return chapter.language if chapter else settings.default_language


async def note_admin(s: AsyncSession, chat: ChatRef, person: Person, is_admin: bool,
                     now: datetime) -> None:
    """Keep the /organisers list of a chat's admins in step with what the adapter just said
    about the sender (a command in a chapter's chat)."""
    binding_id = await s.scalar(select(ChatBinding.id).where(
        ChatBinding.platform == chat.platform, ChatBinding.chat_id == chat.id))
    if binding_id is None:
        return
    row = await s.scalar(select(ChatAdmin).where(ChatAdmin.binding_id == binding_id,
                                                 ChatAdmin.person_id == person.id))
    if is_admin and row is None:
        try:
            async with s.begin_nested():
                s.add(ChatAdmin(binding_id=binding_id, person_id=person.id, seen_at=now))
                await s.flush()
        except IntegrityError:
            pass  # two commands of one admin at once: the other one wrote it
    elif not is_admin and row is not None:
        await s.delete(row)
