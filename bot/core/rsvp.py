"""Saying whether you come: `/rsvp`, the buttons under an announcement and (Matrix) the
reactions all become one `RsvpRequest`, answered by one use case with seats, guests, the
waitlist and promotion by DM."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.announce import describe, refresh_announcements
from bot.core.errors import UserError
from bot.core.i18n import translator
from bot.core.messages import ChatRef, RsvpAnswer
from bot.core.notify import send_dm
from bot.core.queries import locked_meetup, next_meetup, seats_taken, waitlist_position
from bot.core.reminders import clear_person, schedule_person
from bot.core.rules import Party, fits, promotions, takes_answers
from bot.core.work import Ctx, Work
from bot.db.models import (
    Chapter,
    Meetup,
    MeetupStatus,
    Person,
    PostedMessage,
    PostKind,
    Rsvp,
    RsvpStatus,
)

MAX_GUESTS = 10
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns
_GUESTS = re.compile(r"^\+(\d{1,3})$", re.A)
# Built once (every answer runs them; building costs more than running the cached SQL).
_ANSWER_OF = select(Rsvp).where(Rsvp.meetup_id == bindparam("meetup"),
                                Rsvp.person_id == bindparam("person"))
_WORDS = {"yes": RsvpAnswer.YES, "ja": RsvpAnswer.YES, "maybe": RsvpAnswer.MAYBE,
          "misschien": RsvpAnswer.MAYBE, "no": RsvpAnswer.NO, "nee": RsvpAnswer.NO}


@dataclass(frozen=True)
class RsvpRequest:
    """An answer for a meetup, however it was given."""

    answer: RsvpAnswer | None  # None: take the answer back (a reaction removed)
    guests: int | None = None  # None: keep the guests said before
    meetup_id: int | None = None  # None: the chapter's next meetup


def parse_text(args: str) -> RsvpRequest:
    """`/rsvp yes +2`, `/rsvp misschien`, `/rsvp no`: for the next meetup."""
    words = args.lower().split()
    if not words or words[0] not in _WORDS or len(words) > 2:
        raise UserError("Write it like: /rsvp yes, /rsvp maybe, /rsvp no, or /rsvp yes +2")
    guests = None
    if len(words) == 2:
        found = _GUESTS.match(words[1])
        if not found or int(found.group(1)) > MAX_GUESTS:
            raise UserError("Guests are written as +1 … +{max}, e.g. /rsvp yes +2",
                            max=MAX_GUESTS)
        guests = int(found.group(1))
    return RsvpRequest(_WORDS[words[0]], guests)


def parse_payload(payload: str) -> RsvpRequest:
    """A button's `rsvp:<meetup id>:<answer>`, as it came from the platform: a forged or
    damaged one is refused."""
    parts = payload.split(":")
    if (len(parts) != 3 or parts[0] != "rsvp" or not parts[1].isascii()
            or not parts[1].isdigit() or len(parts[1]) > 12 or int(parts[1]) > MAX_ID
            or parts[2] not in ("yes", "maybe", "no")):
        raise UserError("That button isn't valid.")
    return RsvpRequest(RsvpAnswer(parts[2]), None, int(parts[1]))


def still_open(meetup: Meetup, w: Work) -> bool:
    return takes_answers(meetup.status == MeetupStatus.SCHEDULED, meetup.starts_at, w.now)


async def dm_announcement_chapter(s: AsyncSession, chat: ChatRef,
                                  payload: str) -> Chapter | None:
    """A button pressed in a private chat: the chapter of its meetup, when that meetup was
    DM'd there with its buttons (to a follower); else None, and the press is refused."""
    request = parse_payload(payload)
    post = await s.scalar(select(PostedMessage).where(
        PostedMessage.platform == chat.platform, PostedMessage.chat_id == chat.id,
        PostedMessage.kind == PostKind.DM_ANNOUNCEMENT,
        PostedMessage.meetup_id == request.meetup_id).limit(1))
    return None if post is None else await s.get(Chapter, post.chapter_id)


async def meetup_for(w: Work, chapter: Chapter | None, request: RsvpRequest) -> Meetup:
    """The meetup a request is for, when it still takes answers, its row locked until the
    commit (answers for one meetup are decided one at a time); else a UserError."""
    if chapter is None:
        raise UserError("That button isn't valid.")
    if request.meetup_id is None:
        meetup = await next_meetup(w.s, chapter.id, w.now, lock=True)
        if meetup is None:
            polling = await next_meetup(w.s, chapter.id, w.now, include_polling=True)
            if polling is not None:
                raise UserError("The date of {title} is still being voted on; RSVP opens when "
                                "the poll closes.", title=polling.title)
            raise UserError("No meetup is planned yet. Send /next to hear when one is.")
        return meetup
    found = await locked_meetup(w.s, request.meetup_id)
    if found is None or found.chapter_id != chapter.id:
        raise UserError("That button isn't valid.")
    if not still_open(found, w):
        raise UserError("{title} is no longer open for answers.", title=found.title)
    return found


async def answer(w: Work, chapter: Chapter | None, person: Person, request: RsvpRequest) -> str:
    """Apply a request; returns the line to show, in the chapter's language."""
    meetup = await meetup_for(w, chapter, request)
    assert chapter is not None
    return await apply_rsvp(w, meetup, chapter, person, request.answer, request.guests)


async def rsvp_command(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_chapter()
    ctx.reply(await answer(ctx, chapter, ctx.person, parse_text(args)))


async def apply_rsvp(w: Work, meetup: Meetup, chapter: Chapter, person: Person,
                     answer: RsvpAnswer | None, guests: int | None) -> str:
    """Record an answer (None: take it back), move the waitlist, keep reminders in step.
    Returns the line to show, in the chapter's language. The meetup's row is locked
    (`meetup_for`): answers for one meetup are decided one at a time (PostgreSQL runs commands
    side by side), or two "yes" for the last seat both see it free. The answer is read after
    the lock, in a statement of its own: one that waited for the lock then sees the answer
    the other committed."""
    s = w.s
    _ = translator(chapter.language)
    rsvp = await s.scalar(_ANSWER_OF, {"meetup": meetup.id, "person": person.id})
    was_yes = rsvp is not None and rsvp.status == RsvpStatus.YES
    before = None if rsvp is None else (rsvp.status, rsvp.guests)
    seats_before = 1 + rsvp.guests if rsvp is not None and was_yes else 0
    party_guests = guests if guests is not None else (rsvp.guests if rsvp else 0)
    name = person.display_name
    if answer is None:
        if rsvp is not None:
            await s.delete(rsvp)
            await s.flush()
        line = _("{name} took back their answer for {title}.", name=name, title=meetup.title)
    elif answer is RsvpAnswer.YES:
        party = 1 + party_guests
        if meetup.capacity is not None and party > meetup.capacity:
            raise UserError.plural("{title} has {max} seat in all; a group of {n} doesn't fit.",
                                   "{title} has {max} seats in all; a group of {n} doesn't fit.",
                                   meetup.capacity, title=meetup.title, max=meetup.capacity,
                                   n=party)
        # Without a capacity every party fits and no count of seats is shown.
        taken = (0 if meetup.capacity is None
                 else await seats_taken(s, meetup.id, except_person=person.id))
        if rsvp is None:
            rsvp = Rsvp(meetup_id=meetup.id, person_id=person.id, status=RsvpStatus.NO,
                        guests=0, updated_at=w.now)
            s.add(rsvp)
        if fits(meetup.capacity, taken, party):
            rsvp.status, rsvp.guests, rsvp.waitlist_seq = RsvpStatus.YES, party_guests, None
            line = (_("{name} is going to {title} (+{g}).", name=name, title=meetup.title,
                      g=party_guests) if party_guests
                    else _("{name} is going to {title}.", name=name, title=meetup.title))
            if meetup.capacity:
                line += " " + _.n("{n}/{max} seat taken.", "{n}/{max} seats taken.",
                                  meetup.capacity, n=taken + party, max=meetup.capacity)
        elif was_yes:
            raise UserError("There isn't room for a bigger group: +{free} is the most you can "
                            "bring now, so yours stays the same size.",
                            free=max(0, (meetup.capacity or 0) - taken - 1))
        else:
            if rsvp.status != RsvpStatus.WAITLIST:
                top = await s.scalar(select(func.max(Rsvp.waitlist_seq)).where(
                    Rsvp.meetup_id == meetup.id))
                rsvp.waitlist_seq = (top or 0) + 1
            rsvp.status, rsvp.guests = RsvpStatus.WAITLIST, party_guests
            await s.flush()
            line = _("{title} is full: {name} is on the waitlist, position {pos}. You'll get a "
                     "DM when a seat opens.", title=meetup.title, name=name,
                     pos=await waitlist_position(s, rsvp))
        rsvp.updated_at = w.now
    else:
        status = RsvpStatus(answer.value)
        if rsvp is None:
            rsvp = Rsvp(meetup_id=meetup.id, person_id=person.id, status=status,
                        guests=party_guests, updated_at=w.now)
            s.add(rsvp)
        rsvp.status, rsvp.guests, rsvp.waitlist_seq, rsvp.updated_at = (
            status, party_guests, None, w.now)
        line = (_("{name} might come to {title}.", name=name, title=meetup.title)
                if answer is RsvpAnswer.MAYBE
                else _("{name} can't come to {title}.", name=name, title=meetup.title))
    await s.flush()
    if answer is RsvpAnswer.YES and rsvp is not None and rsvp.status == RsvpStatus.YES:
        await schedule_person(w, meetup, person, chapter)
    else:
        await clear_person(w, meetup.id, person.id)
    seats_now = (1 + rsvp.guests if answer is not None and rsvp is not None
                 and rsvp.status == RsvpStatus.YES else 0)
    if was_yes and seats_now < seats_before:  # a seat, or a guest's seat, opened up
        await promote(w, meetup, chapter)
    after = None if answer is None or rsvp is None else (rsvp.status, rsvp.guests)
    if after != before:  # the same answer again leaves the announcements' counts as they are
        await refresh_announcements(w, meetup, chapter)
    return line


async def promote(w: Work, meetup: Meetup, chapter: Chapter) -> None:
    """Move up whoever fits from the waitlist, in order, and tell them by DM."""
    waiting = list(await w.s.scalars(select(Rsvp).where(
        Rsvp.meetup_id == meetup.id, Rsvp.status == RsvpStatus.WAITLIST)
        .order_by(Rsvp.waitlist_seq)))
    if not waiting:
        return
    chosen = promotions(meetup.capacity, await seats_taken(w.s, meetup.id),
                        [Party(r.id, 1 + r.guests) for r in waiting])
    for rsvp in waiting:
        if rsvp.id not in chosen:
            continue
        rsvp.status, rsvp.waitlist_seq, rsvp.updated_at = RsvpStatus.YES, None, w.now
        await w.s.flush()
        person = await w.s.get_one(Person, rsvp.person_id)
        await schedule_person(w, meetup, person, chapter)
        language = person.language or chapter.language
        _ = translator(language)
        await send_dm(w, person, chapter, meetup.id,
                      _("Good news: a seat opened up. You're going to {what}. Can't make it "
                        "after all? Send /rsvp no in the group.",
                        what=describe(meetup, chapter, language)))
