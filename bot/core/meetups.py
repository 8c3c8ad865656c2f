"""Meetups: creating one, RSVP with seats and a waitlist, who is coming, cancelling, calendars."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.calendar import calendar_file, meetup_event
from bot.core.commands import split_args
from bot.core.context import (
    Ctx,
    Services,
    dm_targets_of,
    post_to_chapter,
    send_dm,
)
from bot.core.dates import parse_when
from bot.core.errors import UserError
from bot.core.i18n import format_when, translator
from bot.core.messages import Button, ChatRef, OutFile, RsvpAnswer
from bot.core.outbox import Posted, outbox_of
from bot.core.reminders import clear_meetup, clear_person, schedule_group, schedule_person
from bot.core.rules import Party, fits, promotions
from bot.db.models import Chapter, Interest, Meetup, Person, Poll, PostedMessage, Rsvp

MAX_TITLE = 200
MAX_VENUE = 200
MAX_CAPACITY = 100_000
MAX_GUESTS = 10
MAX_OPTIONS = 10
_MAX = re.compile(r"^max\s*(\d{1,9})$", re.I)
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns
_GUESTS = re.compile(r"^\+(\d{1,3})$")


def rsvp_buttons(meetup_id: int, language: str) -> list[Button]:
    _ = translator(language)
    return [
        Button(_("✅ Going"), f"rsvp:{meetup_id}:yes"),
        Button(_("🤔 Maybe"), f"rsvp:{meetup_id}:maybe"),
        Button(_("❌ Can't"), f"rsvp:{meetup_id}:no"),
    ]


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise UserError("The meetup needs a title, e.g. /newmeetup Tweetup #1; thursday 19:30")
    if len(title) > MAX_TITLE:
        raise UserError("That title is {n} characters long; keep it under {max}.",
                        n=len(title), max=MAX_TITLE)
    return title


async def seats_taken(s: AsyncSession, meetup_id: int, except_person: int | None = None) -> int:
    query = select(func.coalesce(func.sum(1 + Rsvp.guests), 0)).where(
        Rsvp.meetup_id == meetup_id, Rsvp.status == "yes")
    if except_person is not None:
        query = query.where(Rsvp.person_id != except_person)
    return int(await s.scalar(query) or 0)


async def next_meetup(s: AsyncSession, chapter_id: int, now: datetime,
                      *, include_polling: bool = False) -> Meetup | None:
    statuses = ["scheduled", "polling"] if include_polling else ["scheduled"]
    # The earliest dated one; a meetup whose date is still being polled comes after those.
    return await s.scalar(
        select(Meetup).where(Meetup.chapter_id == chapter_id, Meetup.status.in_(statuses),
                             or_(Meetup.starts_at.is_(None), Meetup.starts_at > now))
        .order_by(Meetup.starts_at.is_(None), Meetup.starts_at, Meetup.id).limit(1))


def describe(meetup: Meetup, chapter: Chapter, language: str) -> str:
    assert meetup.starts_at is not None
    when = format_when(meetup.starts_at, chapter.timezone, language)
    return f"{meetup.title} — {when}" + (f", {meetup.venue}" if meetup.venue else "")


async def counts_line(s: AsyncSession, meetup: Meetup, language: str) -> str:
    _ = translator(language)
    taken = await seats_taken(s, meetup.id)
    rows = await s.execute(select(Rsvp.status, func.count()).where(Rsvp.meetup_id == meetup.id)
                           .group_by(Rsvp.status))
    counts = {status: int(n) for status, n in rows.all()}
    maybe, waiting = counts.get("maybe", 0), counts.get("waitlist", 0)
    going = (_("{n}/{max} going", n=taken, max=meetup.capacity) if meetup.capacity
             else _("{n} going", n=taken))
    line = going + " · " + _("{n} maybe", n=maybe)
    if waiting:
        line += " · " + _("{n} on the waitlist", n=waiting)
    return line


async def announcement_text(s: AsyncSession, meetup: Meetup, chapter: Chapter) -> str:
    _ = translator(chapter.language)
    return "\n".join([
        _("📅 {what}", what=describe(meetup, chapter, chapter.language)),
        await counts_line(s, meetup, chapter.language),
        _("Coming? Answer with ✅ 🤔 ❌ below, or send /rsvp yes (with guests: /rsvp yes +1)."),
    ])


async def announce(s: AsyncSession, svc: Services, meetup: Meetup, chapter: Chapter,
                   headline: str) -> None:
    """Post the meetup with its RSVP buttons; the posts are filed so answers find it back."""
    text = headline + "\n" + await announcement_text(s, meetup, chapter)
    await post_to_chapter(s, svc, chapter.id, text, rsvp_buttons(meetup.id, chapter.language),
                          record=Posted(chapter.id, "announcement", meetup_id=meetup.id))


async def refresh_announcements(s: AsyncSession, svc: Services, meetup: Meetup,
                                chapter: Chapter) -> None:
    """Keep the counts under each announcement current (the adapters pace the edits)."""
    posts = list(await s.scalars(select(PostedMessage).where(
        PostedMessage.meetup_id == meetup.id, PostedMessage.kind == "announcement")))
    if not posts:
        return
    _ = translator(chapter.language)
    text = await announcement_text(s, meetup, chapter)
    if meetup.status == "cancelled":
        text = _("❌ Cancelled") + "\n" + text
    buttons = [] if meetup.status == "cancelled" else rsvp_buttons(meetup.id, chapter.language)
    for post in posts:
        if post.platform in svc.messengers:
            outbox_of(s).edit(ChatRef(post.platform, post.chat_id), post.message_id, text,
                              buttons)


def meetup_calendar(meetup: Meetup, chapter: Chapter, now: datetime) -> OutFile:
    assert meetup.starts_at is not None
    event = _event(meetup, chapter, now)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", meetup.title).strip("-").lower()[:40] or "meetup"
    return calendar_file(f"{slug}.ics", [event], chapter.name)


def _event(meetup: Meetup, chapter: Chapter, now: datetime):
    assert meetup.starts_at is not None
    return meetup_event(uid=f"meetup-{meetup.id}@irlbot", title=meetup.title,
                        starts_at=meetup.starts_at, venue=meetup.venue, chapter=chapter.name,
                        stamp=now, cancelled=meetup.status == "cancelled")


async def notify_interest(s: AsyncSession, svc: Services, now: datetime, meetup: Meetup,
                          chapter: Chapter, what: str) -> None:
    """Everyone on the interest list hears of the next meetup once; the list is then empty."""
    people = list(await s.scalars(select(Person).join(Interest, Interest.person_id == Person.id)
                                  .where(Interest.chapter_id == chapter.id)
                                  .order_by(Interest.id)))
    targets = await dm_targets_of(s, svc, [p.id for p in people])
    for person in people:
        _ = translator(person.language or chapter.language)
        await send_dm(s, svc, person, chapter, meetup.id,
                      _("{chapter} has announced its next meetup: {what}",
                        chapter=chapter.name, what=what), targets=targets[person.id])
    if people:
        await s.execute(delete(Interest).where(Interest.chapter_id == chapter.id,
                                               Interest.person_id.in_([p.id for p in people])))


# --- /newmeetup ------------------------------------------------------------------------------

async def new_meetup(ctx: Ctx, args: str) -> None:
    from bot.core.polls import open_date_poll, open_poll_of

    chapter = ctx.require_organiser()
    parts = split_args(args)
    if len(parts) < 2 or not parts[1]:
        raise UserError("Write it like: /newmeetup Tweetup #1; thursday 19:30 | friday 20:00; "
                        "Verkadefabriek; max 40")
    title = check_title(parts[0])
    venue, capacity, unknown = venue_and_capacity(parts[2:])
    if unknown is not None:
        raise UserError("I don't know what “{text}” means here. Write it like: "
                        "/newmeetup Tweetup #1; thursday 19:30; Verkadefabriek; max 40",
                        text=unknown[:40])
    whens = [w.strip() for w in parts[1].split("|")]
    if len(whens) > MAX_OPTIONS:
        raise UserError("At most {max} dates in one poll.", max=MAX_OPTIONS)
    moments = [parse_when(w, timezone=chapter.timezone, language=chapter.language, now=ctx.now)
               for w in whens]
    if len({m.at for m in moments}) != len(moments):
        raise UserError("The same date is in the list twice.")
    if len(moments) > 1 and await open_poll_of(ctx.s, chapter.id) is not None:
        raise UserError("A poll is still open. Close it first with /closepoll.")

    if len(moments) == 1:
        await open_meetup(ctx.s, ctx.svc, ctx.now, chapter, title, moments[0].at, venue,
                          capacity, ctx.person.id)
        return
    meetup = Meetup(chapter_id=chapter.id, title=title, venue=venue, capacity=capacity,
                    status="polling", starts_at=None, created_by=ctx.person.id,
                    created_at=ctx.now)
    ctx.s.add(meetup)
    await ctx.s.flush()
    await open_date_poll(ctx, chapter, meetup, sorted(moments, key=lambda m: m.at))
    await notify_interest(ctx.s, ctx.svc, ctx.now, meetup, chapter, title)


def venue_and_capacity(extras: list[str]) -> tuple[str | None, int | None, str | None]:
    """`Verkadefabriek`, `max 40`, in either order: (venue, capacity, the first part that is
    neither, for the caller's "write it like" reply)."""
    venue: str | None = None
    capacity: int | None = None
    for extra in extras:
        if not extra:
            continue
        found = _MAX.match(extra)
        if found:
            capacity = int(found.group(1))
            if not 1 <= capacity <= MAX_CAPACITY:
                raise UserError("After max, write a number of seats from 1 to {max}.", max=MAX_CAPACITY)
        elif venue is None:
            venue = " ".join(extra.split())
            if len(venue) > MAX_VENUE:
                raise UserError("The venue is {n} characters long; keep it under {max}.",
                                n=len(venue), max=MAX_VENUE)
        else:
            return venue, capacity, extra
    return venue, capacity, None


async def open_meetup(s: AsyncSession, svc: Services, now: datetime, chapter: Chapter,
                      title: str, starts_at: datetime, venue: str | None, capacity: int | None,
                      created_by: int | None) -> Meetup:
    """A meetup with its date set (a one-date /newmeetup, or /recurring): the group's
    reminder and follow-up rows, the announcement with RSVP buttons, the interest list told."""
    meetup = Meetup(chapter_id=chapter.id, title=title, venue=venue, capacity=capacity,
                    status="scheduled", starts_at=starts_at, created_by=created_by,
                    created_at=now)
    s.add(meetup)
    await s.flush()
    await schedule_group(s, svc, now, meetup)
    _ = translator(chapter.language)
    await announce(s, svc, meetup, chapter, _("New meetup!"))
    await notify_interest(s, svc, now, meetup, chapter,
                          describe(meetup, chapter, chapter.language))
    return meetup


# --- RSVP ------------------------------------------------------------------------------------

def parse_rsvp(args: str) -> tuple[RsvpAnswer, int | None]:
    words = args.lower().split()
    answers = {"yes": RsvpAnswer.YES, "ja": RsvpAnswer.YES, "maybe": RsvpAnswer.MAYBE,
               "misschien": RsvpAnswer.MAYBE, "no": RsvpAnswer.NO, "nee": RsvpAnswer.NO}
    if not words or words[0] not in answers or len(words) > 2:
        raise UserError("Write it like: /rsvp yes, /rsvp maybe, /rsvp no, or /rsvp yes +2")
    guests = None
    if len(words) == 2:
        found = _GUESTS.match(words[1])
        if not found or int(found.group(1)) > MAX_GUESTS:
            raise UserError("Guests are written as +1 … +{max}, e.g. /rsvp yes +2", max=MAX_GUESTS)
        guests = int(found.group(1))
    return answers[words[0]], guests


async def rsvp_command(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_chapter()
    answer, guests = parse_rsvp(args)
    meetup = await next_meetup(ctx.s, chapter.id, ctx.now)
    if meetup is None:
        polling = await next_meetup(ctx.s, chapter.id, ctx.now, include_polling=True)
        if polling is not None:
            raise UserError("The date of {title} is still being voted on; RSVP opens when the "
                            "poll closes.", title=polling.title)
        raise UserError("No meetup is planned yet. Send /next to hear when one is.")
    first = len(outbox_of(ctx.s))  # the answer goes out before the DMs it causes
    text = await apply_rsvp(ctx.s, ctx.svc, ctx.now, meetup, chapter, ctx.person, answer, guests)
    outbox_of(ctx.s).text(ctx.chat, text, at=first)


async def apply_rsvp(s: AsyncSession, svc: Services, now: datetime, meetup: Meetup,
                     chapter: Chapter, person: Person, answer: RsvpAnswer | None,
                     guests: int | None) -> str:
    """Record an answer (None: take it back), move the waitlist, keep reminders in step.
    Returns the line to show, in the chapter's language."""
    _ = translator(chapter.language)
    # Answers for one meetup are decided one at a time (PostgreSQL runs commands side by
    # side): without the row lock, two "yes" for the last seat both see it free.
    await s.execute(select(Meetup.id).where(Meetup.id == meetup.id).with_for_update())
    rsvp = await s.scalar(select(Rsvp).where(Rsvp.meetup_id == meetup.id,
                                             Rsvp.person_id == person.id))
    was_yes = rsvp is not None and rsvp.status == "yes"
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
            raise UserError("{title} has {max} seats in all; a group of {n} doesn't fit.",
                            title=meetup.title, max=meetup.capacity, n=party)
        taken = await seats_taken(s, meetup.id, except_person=person.id)
        if rsvp is None:
            rsvp = Rsvp(meetup_id=meetup.id, person_id=person.id, status="no", guests=0,
                        updated_at=now)
            s.add(rsvp)
        if fits(meetup.capacity, taken, party):
            rsvp.status, rsvp.guests, rsvp.waitlist_seq = "yes", party_guests, None
            line = (_("{name} is going to {title} (+{g}).", name=name, title=meetup.title,
                      g=party_guests) if party_guests
                    else _("{name} is going to {title}.", name=name, title=meetup.title))
            if meetup.capacity:
                line += " " + _("{n}/{max} seats taken.", n=taken + party, max=meetup.capacity)
        elif was_yes:
            raise UserError("There isn't room for a bigger group: +{free} is the most you can "
                            "bring now, so yours stays the same size.",
                            free=max(0, (meetup.capacity or 0) - taken - 1))
        else:
            if rsvp.status != "waitlist":
                top = await s.scalar(select(func.max(Rsvp.waitlist_seq)).where(
                    Rsvp.meetup_id == meetup.id))
                rsvp.waitlist_seq = (top or 0) + 1
            rsvp.status, rsvp.guests = "waitlist", party_guests
            await s.flush()
            line = _("{title} is full: {name} is on the waitlist, position {pos}. You'll get a "
                     "DM when a seat opens.", title=meetup.title, name=name,
                     pos=await waitlist_position(s, rsvp))
        rsvp.updated_at = now
    else:
        if rsvp is None:
            rsvp = Rsvp(meetup_id=meetup.id, person_id=person.id, status=answer.value,
                        guests=party_guests, updated_at=now)
            s.add(rsvp)
        rsvp.status, rsvp.guests, rsvp.waitlist_seq, rsvp.updated_at = (
            answer.value, party_guests, None, now)
        line = (_("{name} might come to {title}.", name=name, title=meetup.title)
                if answer is RsvpAnswer.MAYBE
                else _("{name} can't come to {title}.", name=name, title=meetup.title))
    await s.flush()
    if answer is RsvpAnswer.YES and rsvp is not None and rsvp.status == "yes":
        await schedule_person(s, svc, now, meetup, person, chapter)
    else:
        await clear_person(s, meetup.id, person.id)
    if was_yes:  # a seat, or a guest's seat, may have opened up
        await promote(s, svc, now, meetup, chapter)
    await refresh_announcements(s, svc, meetup, chapter)
    return line


async def waitlist_position(s: AsyncSession, rsvp: Rsvp) -> int:
    ahead = await s.scalar(select(func.count()).select_from(Rsvp).where(
        Rsvp.meetup_id == rsvp.meetup_id, Rsvp.status == "waitlist",
        Rsvp.waitlist_seq < rsvp.waitlist_seq))
    return int(ahead or 0) + 1


async def promote(s: AsyncSession, svc: Services, now: datetime, meetup: Meetup,
                  chapter: Chapter) -> None:
    waiting = list(await s.scalars(select(Rsvp).where(
        Rsvp.meetup_id == meetup.id, Rsvp.status == "waitlist").order_by(Rsvp.waitlist_seq)))
    if not waiting:
        return
    chosen = promotions(meetup.capacity, await seats_taken(s, meetup.id),
                        [Party(r.id, 1 + r.guests) for r in waiting])
    for rsvp in waiting:
        if rsvp.id not in chosen:
            continue
        rsvp.status, rsvp.waitlist_seq, rsvp.updated_at = "yes", None, now
        await s.flush()
        person = await s.get_one(Person, rsvp.person_id)
        await schedule_person(s, svc, now, meetup, person, chapter)
        _ = translator(person.language or chapter.language)
        await send_dm(s, svc, person, chapter, meetup.id,
                      _("Good news: a seat opened up. You're going to {what}. Can't make it "
                        "after all? Send /rsvp no in the group.",
                        what=describe(meetup, chapter, person.language or chapter.language)))


async def rsvp_by_payload(s: AsyncSession, svc: Services, now: datetime, chapter: Chapter | None,
                          person: Person, payload: str) -> tuple[str, bool]:
    """A button press: `rsvp:<meetup id>:<answer>`, checked against the chat it came from."""
    _ = translator(chapter.language if chapter else svc.settings.default_language)
    parts = payload.split(":")
    if (len(parts) != 3 or parts[0] != "rsvp" or not parts[1].isascii()
            or not parts[1].isdigit() or len(parts[1]) > 12 or int(parts[1]) > MAX_ID
            or parts[2] not in ("yes", "maybe", "no") or chapter is None):
        return _("That button isn't valid."), False
    meetup = await s.get(Meetup, int(parts[1]))
    if meetup is None or meetup.chapter_id != chapter.id:
        return _("That button isn't valid."), False
    if meetup.status != "scheduled" or meetup.starts_at is None or meetup.starts_at <= now:
        return _("{title} is no longer open for answers.", title=meetup.title), False
    try:
        line = await apply_rsvp(s, svc, now, meetup, chapter, person, RsvpAnswer(parts[2]), None)
    except UserError as err:
        return _(err.message, **err.values), False
    return line, True


# --- /who, /meetups, /cancel, /ics -----------------------------------------------------------

async def who(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_chapter()
    _ = ctx._
    meetup = await next_meetup(ctx.s, chapter.id, ctx.now)
    if meetup is None:
        raise UserError("No meetup is planned yet. Send /next to hear when one is.")
    rows = list(await ctx.s.execute(
        select(Rsvp, Person).join(Person, Person.id == Rsvp.person_id)
        .where(Rsvp.meetup_id == meetup.id).order_by(Rsvp.updated_at, Rsvp.id)))

    def label(rsvp: Rsvp, person: Person) -> str:
        text = person.display_name + (f" (+{rsvp.guests})" if rsvp.guests else "")
        return text + (f" — {person.intro}" if person.intro else "")

    going = [label(r, p) for r, p in rows if r.status == "yes"]
    maybe = [label(r, p) for r, p in rows if r.status == "maybe"]
    waiting = sorted(((r.waitlist_seq or 0, label(r, p)) for r, p in rows
                      if r.status == "waitlist"))
    taken = await seats_taken(ctx.s, meetup.id)
    lines = [describe(meetup, chapter, ctx.lang)]
    head = (_("Going ({n}/{max}):", n=taken, max=meetup.capacity) if meetup.capacity
            else _("Going ({n}):", n=taken))
    lines.append(head + ("" if going else " " + _("nobody yet")))
    lines += [f"• {g}" for g in going]
    if maybe:
        lines.append(_("Maybe:"))
        lines += [f"• {m}" for m in maybe]
    if waiting:
        lines.append(_("Waitlist:"))
        lines += [f"{i}. {w}" for i, (_seq, w) in enumerate(waiting, 1)]
    ctx.reply("\n".join(lines))


async def list_meetups(ctx: Ctx, args: str) -> None:
    from bot.db.models import Membership

    _ = ctx._
    if ctx.is_private:
        chapter_ids = list(await ctx.s.scalars(select(Membership.chapter_id).where(
            Membership.person_id == ctx.person.id)))
    else:
        chapter_ids = [ctx.require_chapter().id]
    lines = []
    for chapter_id in chapter_ids:
        chapter = await ctx.s.get_one(Chapter, chapter_id)
        meetups = await ctx.s.scalars(select(Meetup).where(
            Meetup.chapter_id == chapter_id, Meetup.status.in_(["scheduled", "polling"]),
            or_(Meetup.starts_at.is_(None), Meetup.starts_at > ctx.now))
            .order_by(Meetup.starts_at, Meetup.id))
        for m in meetups:
            if m.starts_at is None:
                lines.append(_("{title} — date still being voted on", title=m.title))
            elif m.starts_at > ctx.now:
                lines.append(describe(m, chapter, ctx.lang))
            else:
                continue
            if ctx.is_private:
                lines[-1] += f" ({chapter.name})"
    if not lines:
        ctx.reply(_("No meetups planned. Send /next to hear when one is."))
        return
    ctx.reply(_("Upcoming meetups:") + "\n" + "\n".join(f"• {line}" for line in lines))


async def cancel(ctx: Ctx, args: str) -> None:
    from bot.core.polls import close_platform_polls

    chapter = ctx.require_organiser()
    meetup = await next_meetup(ctx.s, chapter.id, ctx.now, include_polling=True)
    if meetup is None:
        raise UserError("There is no upcoming meetup to cancel.")
    was_polling = meetup.status == "polling"
    meetup.status = "cancelled"
    await clear_meetup(ctx.s, meetup.id)
    if was_polling:
        polls = await ctx.s.scalars(select(Poll).where(Poll.meetup_id == meetup.id,
                                                       Poll.closed_at.is_(None)))
        for poll in polls:
            poll.closed_at = ctx.now
            await close_platform_polls(ctx.s, ctx.svc, poll)
    await ctx.s.flush()
    _ = ctx._
    await post_to_chapter(ctx.s, ctx.svc, chapter.id,
                          _("❌ {title} is cancelled.", title=meetup.title))
    if meetup.starts_at is not None:
        await refresh_announcements(ctx.s, ctx.svc, meetup, chapter)
    told = list(await ctx.s.scalars(select(Person).join(Rsvp, Person.id == Rsvp.person_id)
                                    .where(Rsvp.meetup_id == meetup.id,
                                           Rsvp.status.in_(["yes", "maybe", "waitlist"]))
                                    .order_by(Rsvp.id)))
    targets = await dm_targets_of(ctx.s, ctx.svc, [p.id for p in told])
    for person in told:
        t = translator(person.language or chapter.language)
        await send_dm(ctx.s, ctx.svc, person, chapter, meetup.id,
                      t("Sorry: {title} ({chapter}) is cancelled.", title=meetup.title,
                        chapter=chapter.name), targets=targets[person.id])
    if chapter.recurring_rule is not None:  # the rule's next date (not this one) opens
        from bot.core.recurring import open_next

        await open_next(ctx.s, ctx.svc, ctx.now, chapter)


async def ics(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_chapter()
    _ = ctx._
    if args.strip().lower() in ("all", "alles"):
        meetups = list(await ctx.s.scalars(select(Meetup).where(
            Meetup.chapter_id == chapter.id, Meetup.starts_at.is_not(None))
            .order_by(Meetup.starts_at)))
        if not meetups:
            raise UserError("No meetups with a date yet.")
        file = calendar_file("chapter.ics", [_event(m, chapter, ctx.now) for m in meetups],
                             chapter.name)
    else:
        meetup = await next_meetup(ctx.s, chapter.id, ctx.now)
        if meetup is None:
            raise UserError("No meetup is planned yet. Send /next to hear when one is.")
        file = meetup_calendar(meetup, chapter, ctx.now)
    outbox_of(ctx.s).file(ctx.chat, file, _("Add it to your calendar."))
