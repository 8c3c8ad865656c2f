"""Who someone is: a person behind each platform account, their membership of a chapter,
the language and timezone to use with them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.core.messages import ChatRef, UserRef
from bot.core.settings import CoreSettings
from bot.core.text import shown_name
from bot.db.bulk import chunks, insert_skipping
from bot.db.models import Chapter, ChatAdmin, ChatBinding, Identity, Membership, Person

Account = tuple[str, str]  # (platform, platform user id)
_IN_LIST = 1000  # ids in one IN (...)


# Built once: this runs for every event (SQLAlchemy still caches the compiled SQL, but building
# the expression costs more than running it).
_IDENTITY_AND_PERSON = (
    select(Identity, Person).join(Person, Person.id == Identity.person_id)
    .where(Identity.platform == bindparam("platform"),
           Identity.platform_user_id == bindparam("user_id")))


@dataclass
class Sender:
    """Who sent a command, and where: what every command in a chat needs first."""

    person: Person
    identity: Identity
    chapter: Chapter | None  # the chat's chapter
    binding_id: int | None  # the chat's binding to it
    membership: Membership | None  # the sender's, of that chapter
    admin_row: int | None  # the sender's row in the chat's admins (note_admin)
    linked: bool = False  # the person has an account on another platform too (/whoami)


# Everything above in one query (every command); a first contact makes the person first.
_ADMIN_OF_SENDER = (  # a subquery, not a join: read by its key even in a small table
    select(ChatAdmin.id).where(ChatAdmin.binding_id == ChatBinding.id,
                               ChatAdmin.person_id == Identity.person_id)
    .correlate(ChatBinding, Identity).scalar_subquery())
_OTHER_ACCOUNT = aliased(Identity)
_LINKED = exists().where(_OTHER_ACCOUNT.person_id == Identity.person_id,
                         _OTHER_ACCOUNT.id != Identity.id).correlate(Identity)
_SENDER = (
    select(Identity, Person, Chapter, ChatBinding.id, Membership, _ADMIN_OF_SENDER, _LINKED)
    .join(Person, Person.id == Identity.person_id)
    .outerjoin(ChatBinding, and_(ChatBinding.platform == bindparam("chat_platform"),
                                 ChatBinding.chat_id == bindparam("chat")))
    .outerjoin(Chapter, Chapter.id == ChatBinding.chapter_id)
    .outerjoin(Membership, and_(Membership.chapter_id == ChatBinding.chapter_id,
                                Membership.person_id == Identity.person_id))
    .where(Identity.platform == bindparam("platform"),
           Identity.platform_user_id == bindparam("user_id")))


async def sender_in(s: AsyncSession, user: UserRef, chat: ChatRef | None,
                    now: datetime) -> Sender:
    """The sender (made on first contact, name kept current), the chat's chapter (None for a
    private chat), and their membership of it (made on first contact)."""
    params = {"platform": user.platform, "user_id": user.id,
              "chat_platform": chat.platform if chat else "", "chat": chat.id if chat else ""}
    found = (await s.execute(_SENDER, params)).first()
    if found is None:  # first contact: the person is made, then read like everyone else
        await person_for(s, user, now)
        found = (await s.execute(_SENDER, params)).one()
    identity, person, chapter, binding_id, membership, admin_row, linked = found
    _keep_name(identity, person, user)
    if chapter is not None and membership is None:
        membership = await ensure_membership(s, chapter, person, now)
    return Sender(person, identity, chapter, binding_id, membership, admin_row, bool(linked))


def _keep_name(identity: Identity, person: Person, user: UserRef) -> None:
    """The name the platform gives now, on the account and the person."""
    name = shown_name(user.display_name, user.id)
    if identity.display_name != name:
        identity.display_name = name
        person.display_name = name


async def person_for(s: AsyncSession, user: UserRef, now: datetime) -> tuple[Person, Identity]:
    """The person behind a platform account, made on first contact; their name kept current.
    Two first actions of one person at once (PostgreSQL runs them side by side) make one
    person: the second insert waits for the first, fails on the unique account, and reads it."""
    name = shown_name(user.display_name, user.id)
    found = (await s.execute(_IDENTITY_AND_PERSON, {"platform": user.platform,
                                                    "user_id": user.id})).first()
    if found is None:
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
            theirs = await identity_of(s, user)
            if theirs is None:
                raise
            identity, person = theirs, await s.get_one(Person, theirs.person_id)
    else:
        identity, person = found
    _keep_name(identity, person, user)
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


async def identity_of(s: AsyncSession, user: UserRef) -> Identity | None:
    """The account behind a platform user, when known."""
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
                     now: datetime, known: Sender | None = None) -> None:
    """Keep the /organisers list of a chat's admins in step with what the adapter just said
    about the sender (a command in a chapter's chat). `known`: what `sender_in` found."""
    if known is not None:
        binding_id, row_id = known.binding_id, known.admin_row
        if binding_id is None:
            return
    else:
        binding_id = await s.scalar(select(ChatBinding.id).where(
            ChatBinding.platform == chat.platform, ChatBinding.chat_id == chat.id))
        if binding_id is None:
            return
        row_id = await s.scalar(_ADMIN_ROW, {"binding": binding_id, "person": person.id})
    if is_admin and row_id is None:
        try:
            async with s.begin_nested():
                s.add(ChatAdmin(binding_id=binding_id, person_id=person.id, seen_at=now))
                await s.flush()
        except IntegrityError:
            pass  # two commands of one admin at once: the other one wrote it
    elif not is_admin and row_id is not None:
        await s.execute(delete(ChatAdmin).where(ChatAdmin.id == row_id)
                        .execution_options(synchronize_session=False))


_ADMIN_ROW = select(ChatAdmin.id).where(ChatAdmin.binding_id == bindparam("binding"),
                                        ChatAdmin.person_id == bindparam("person"))
