"""The reads many features need: a chat's chapter, its chats, the next meetup, seats,
whom to DM. Written for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, bindparam, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.messages import ChatRef, UserRef
from bot.db.models import (
    Chapter,
    ChatBinding,
    Identity,
    Meetup,
    MeetupStatus,
    Membership,
    Person,
    Poll,
    PostedMessage,
    PostKind,
    Rsvp,
    RsvpStatus,
)


async def chapter_for_chat(s: AsyncSession, chat: ChatRef) -> Chapter | None:
    return await s.scalar(
        select(Chapter).join(ChatBinding, ChatBinding.chapter_id == Chapter.id).where(
            ChatBinding.platform == chat.platform, ChatBinding.chat_id == chat.id
        )
    )


async def chapter_chats(s: AsyncSession, chapter_id: int) -> list[ChatRef]:
    rows = await s.scalars(select(ChatBinding).where(ChatBinding.chapter_id == chapter_id)
                           .order_by(ChatBinding.id))
    return [ChatRef(b.platform, b.chat_id) for b in rows]


async def chapter_ids_of(s: AsyncSession, person_id: int) -> list[int]:
    """The chapters a person has been seen in."""
    return list(await s.scalars(select(Membership.chapter_id).where(
        Membership.person_id == person_id)))


def upcoming(statuses: Sequence[MeetupStatus]) -> Select[Meetup]:
    """A chapter's meetups in `statuses` still ahead (or with no date yet), built once by the
    caller; parameters `chapter` and `now`."""
    return select(Meetup).where(Meetup.chapter_id == bindparam("chapter"),
                                Meetup.status.in_(statuses),
                                or_(Meetup.starts_at.is_(None),
                                    Meetup.starts_at > bindparam("now")))


def _next_of(statuses: Sequence[MeetupStatus]) -> Select[Meetup]:
    # The earliest dated one; a meetup whose date is still being polled comes after those.
    return (upcoming(statuses)
            .order_by(Meetup.starts_at.is_(None), Meetup.starts_at, Meetup.id).limit(1))


_NEXT = _next_of([MeetupStatus.SCHEDULED])
_NEXT_OR_POLLING = _next_of([MeetupStatus.SCHEDULED, MeetupStatus.POLLING])
# The row as it is once locked, not as an earlier read of this unit left it.
_NEXT_LOCKED = (_NEXT.with_for_update(of=Meetup)
                .execution_options(populate_existing=True))
_LOCKED = (select(Meetup).where(Meetup.id == bindparam("meetup")).with_for_update()
           .execution_options(populate_existing=True))


async def next_meetup(s: AsyncSession, chapter_id: int, now: datetime,
                      *, include_polling: bool = False, lock: bool = False) -> Meetup | None:
    """The chapter's next meetup; `lock`: with its row locked until the commit (PostgreSQL;
    SQLite has one writer at a time), in the same query."""
    assert not (lock and include_polling)
    statement = _NEXT_LOCKED if lock else _NEXT_OR_POLLING if include_polling else _NEXT
    return await s.scalar(statement, {"chapter": chapter_id, "now": now})


async def locked_meetup(s: AsyncSession, meetup_id: int) -> Meetup | None:
    """A meetup by id, its row locked until the commit, in one query."""
    return await s.scalar(_LOCKED, {"meetup": meetup_id})


_SEATS = select(func.coalesce(func.sum(1 + Rsvp.guests), 0)).where(
    Rsvp.meetup_id == bindparam("meetup"), Rsvp.status == RsvpStatus.YES)
_SEATS_EXCEPT = _SEATS.where(Rsvp.person_id != bindparam("person"))


async def seats_taken(s: AsyncSession, meetup_id: int, except_person: int | None = None) -> int:
    if except_person is None:
        return int(await s.scalar(_SEATS, {"meetup": meetup_id}) or 0)
    return int(await s.scalar(_SEATS_EXCEPT, {"meetup": meetup_id, "person": except_person})
               or 0)


_TALLY = (select(Rsvp.status, func.count(), func.coalesce(func.sum(1 + Rsvp.guests), 0))
          .where(Rsvp.meetup_id == bindparam("meetup")).group_by(Rsvp.status))


async def tally(s: AsyncSession, meetup_id: int) -> dict[RsvpStatus, tuple[int, int]]:
    """For each answer: how many people gave it, and their seats (guests counted), in one
    query (every RSVP redraws the announcement's counts)."""
    rows = await s.execute(_TALLY, {"meetup": meetup_id})
    return {RsvpStatus(status): (int(n), int(seats)) for status, n, seats in rows.all()}


async def waitlist_position(s: AsyncSession, rsvp: Rsvp) -> int:
    ahead = await s.scalar(select(func.count()).select_from(Rsvp).where(
        Rsvp.meetup_id == rsvp.meetup_id, Rsvp.status == RsvpStatus.WAITLIST,
        Rsvp.waitlist_seq < rsvp.waitlist_seq))
    return int(ahead or 0) + 1


_OPEN_POLL = select(Poll).where(Poll.chapter_id == bindparam("chapter"),
                                Poll.closed_at.is_(None)).order_by(Poll.id.desc())


async def open_poll_of(s: AsyncSession, chapter_id: int) -> Poll | None:
    return await s.scalar(_OPEN_POLL, {"chapter": chapter_id})


_ANNOUNCEMENTS = select(PostedMessage).where(PostedMessage.meetup_id == bindparam("meetup"),
                                             PostedMessage.kind == PostKind.ANNOUNCEMENT)


async def announcement_posts(s: AsyncSession, meetup_id: int) -> list[PostedMessage]:
    return list(await s.scalars(_ANNOUNCEMENTS, {"meetup": meetup_id}))


async def dm_targets(s: AsyncSession, person_id: int) -> list[UserRef]:
    """The person's accounts in the order to try them: those that opened a DM with us first,
    of those the platform the person chose (/remindvia), then where they spoke last (on any
    platform: a copy of the bot that serves only one passes a DM on to one that serves the
    next account)."""
    return (await dm_targets_of(s, [person_id]))[person_id]


async def dm_targets_of(s: AsyncSession, person_ids: Sequence[int]) -> dict[int, list[UserRef]]:
    """dm_targets for many people in one query."""
    targets: dict[int, list[UserRef]] = {pid: [] for pid in person_ids}
    if not targets:
        return targets
    chosen = case((Identity.platform == Person.remind_via, 0), else_=1)
    identities = await s.scalars(
        select(Identity).join(Person, Person.id == Identity.person_id)
        .where(Identity.person_id.in_(list(targets)))
        .order_by(Identity.dm_started.desc(), chosen, Identity.last_spoke_at.is_(None),
                  Identity.last_spoke_at.desc(), Identity.id))
    for i in identities:
        targets[i.person_id].append(UserRef(i.platform, i.platform_user_id, i.display_name))
    return targets
