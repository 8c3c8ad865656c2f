"""Who someone is: a person behind each platform account, their membership of a chapter,
the language and timezone to use with them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.messages import ChatRef, UserRef
from bot.core.settings import CoreSettings
from bot.core.text import shown_name
from bot.db.bulk import chunks, insert_skipping
from bot.db.models import Chapter, ChatAdmin, ChatBinding, Identity, Membership, Person

Account = tuple[str, str]  # (platform, platform user id)
_IN_LIST = 1000  # ids in one IN (...)


async def person_for(s: AsyncSession, user: UserRef, now: datetime) -> tuple[Person, Identity]:
    """The person behind a platform account, made on first contact; their name kept current.
    Two first actions of one person at once (PostgreSQL runs them side by side) make one
    person: the second insert waits for the first, fails on the unique account, and reads it."""
    name = shown_name(user.display_name, user.id)
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


async def people_for(s: AsyncSession, users: Sequence[UserRef],
                     now: datetime) -> dict[Account, int]:
    """`person_for` for many accounts at once (a batch of votes), in a few statements: the
    person id behind each account, made on first contact, names kept current (the last
    `UserRef` of an account names it). An account another transaction made at the same
    moment wins over ours, whose person is deleted again."""
    names: dict[Account, str] = {(u.platform, u.id): shown_name(u.display_name, u.id)
                                 for u in users}
    found = await _accounts(s, names)
    renamed = [(iid, pid, names[acc]) for acc, (iid, pid, name) in found.items()
               if name != names[acc]]
    if renamed:
        await s.execute(update(Identity), [{"id": i, "display_name": n} for i, _p, n in renamed])
        await s.execute(update(Person), [{"id": p, "display_name": n} for _i, p, n in renamed])
    person_of = {acc: pid for acc, (_iid, pid, _name) in found.items()}
    new = [acc for acc in names if acc not in found]
    if new:
        made = list(await s.scalars(
            insert(Person).returning(Person.id, sort_by_parameter_order=True),
            [{"display_name": names[acc], "created_at": now} for acc in new]))
        inserted = await insert_skipping(
            s, Identity, ["platform", "platform_user_id"],
            [{"person_id": pid, "platform": acc[0], "platform_user_id": acc[1],
              "display_name": names[acc], "dm_started": False}
             for acc, pid in zip(new, made, strict=True)],
            returning=[Identity.platform, Identity.platform_user_id])
        ours = {(platform, user_id) for platform, user_id in inserted}
        person_of.update((acc, pid) for acc, pid in zip(new, made, strict=True) if acc in ours)
        lost = [acc for acc in new if acc not in ours]
        if lost:
            orphans = [pid for acc, pid in zip(new, made, strict=True) if acc not in ours]
            await s.execute(delete(Person).where(Person.id.in_(orphans))
                            .execution_options(synchronize_session=False))
            person_of.update((acc, pid) for acc, (_iid, pid, _n) in
                             (await _accounts(s, lost)).items())
    return person_of


async def _accounts(s: AsyncSession,
                    accounts: Iterable[Account]) -> dict[Account, tuple[int, int, str]]:
    """(identity id, person id, name) of the accounts that exist."""
    by_platform: dict[str, list[str]] = {}
    for platform, user_id in accounts:
        by_platform.setdefault(platform, []).append(user_id)
    found: dict[Account, tuple[int, int, str]] = {}
    for platform, user_ids in by_platform.items():
        for part in chunks(user_ids, _IN_LIST):
            rows = await s.execute(
                select(Identity.id, Identity.platform_user_id, Identity.person_id,
                       Identity.display_name)
                .where(Identity.platform == platform, Identity.platform_user_id.in_(part)))
            for iid, user_id, pid, name in rows.all():
                found[(platform, user_id)] = (iid, pid, name)
    return found


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


async def ensure_memberships(s: AsyncSession, chapter_id: int, person_ids: Iterable[int],
                             now: datetime) -> None:
    """`ensure_membership` for many people of one chapter, in a few statements."""
    wanted = sorted(set(person_ids))
    have: set[int] = set()
    for part in chunks(wanted, _IN_LIST):
        have.update(await s.scalars(select(Membership.person_id).where(
            Membership.chapter_id == chapter_id, Membership.person_id.in_(part))))
    await insert_skipping(s, Membership, ["chapter_id", "person_id"], [
        {"chapter_id": chapter_id, "person_id": pid, "is_organiser": False, "joined_at": now}
        for pid in wanted if pid not in have])


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
