"""Meetups: /newmeetup, /meetups, /who, /cancel and /ics."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, func, select

from bot.core.announce import (
    calendar_event,
    describe,
    detail_lines,
    meetup_calendar,
    new_meetup_row,
    notify_interest,
    open_meetup,
    refresh_announcements,
)
from bot.core.calendar import calendar_file
from bot.core.confirm import confirmed, split_yes
from bot.core.dates import parse_when
from bot.core.details import check_title, end_after, read_details
from bot.core.errors import UserError
from bot.core.i18n import translator
from bot.core.notify import post_to_chapter, send_dm
from bot.core.polls import close_platform_polls, mark_closed, open_date_poll
from bot.core.queries import (
    chapter_ids_of,
    dm_targets_of,
    next_meetup,
    open_poll_of,
    tally,
    upcoming,
)
from bot.core.recurring import open_next
from bot.core.reminders import clear_meetup
from bot.core.slugs import meetup_page
from bot.core.syntax import split_args
from bot.core.text import defuse
from bot.core.work import Ctx
from bot.db.models import (
    Chapter,
    Meetup,
    MeetupStatus,
    Person,
    Poll,
    Rsvp,
    RsvpStatus,
)

MAX_OPTIONS = 10


async def new_meetup(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_organiser()
    parts = split_args(args)
    if len(parts) < 2 or not parts[1]:
        raise UserError("Write it like: /newmeetup Tweetup #1; thursday 19:30 | friday 20:00; "
                        "Verkadefabriek; max 40")
    title = check_title(parts[0])
    details, unknown = read_details(parts[2:])
    if unknown is not None:
        raise UserError("I don't know what “{text}” means here. Write it like: "
                        "/newmeetup Tweetup #1; thursday 19:30; Verkadefabriek; max 40; "
                        "ends 22:00; about Short talks, then drinks; https://meet.jit.si/x; "
                        "#tweetup", text=unknown[:40])
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
        await open_meetup(ctx, chapter, title, moments[0].at, details, ctx.person.id)
        return
    meetup = new_meetup_row(chapter, title, None, details, ctx.person.id, ctx.now)
    if details.ends is not None:  # against the first option; the poll's close moves it
        meetup.ends_at = end_after(min(m.at for m in moments), details.ends, chapter.timezone)
    ctx.s.add(meetup)
    await ctx.s.flush()
    await open_date_poll(ctx, chapter, meetup, sorted(moments, key=lambda m: m.at))
    await notify_interest(ctx, meetup, chapter, title)


async def who(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_chapter()
    _ = ctx._
    meetup = await next_meetup(ctx.s, chapter.id, ctx.now)
    if meetup is None:
        raise UserError("No meetup is planned yet. Send /next to hear when one is.")
    counts = await tally(ctx.s, meetup.id)
    shown = await who_shown(ctx, meetup.id)

    def label(guests: int, name: str, intro: str | None) -> str:
        text = name + (f" (+{guests})" if guests else "")
        return defuse(text + (f" — {intro}" if intro else ""))

    def section(status: RsvpStatus) -> list[str]:
        return [label(guests, name, intro) for st, guests, name, intro in shown if st == status]

    def more(status: RsvpStatus, listed: int) -> list[str]:
        rest = counts.get(status, (0, 0))[0] - listed
        return [_.n("… and {n} more", "… and {n} more", rest)] if rest > 0 else []

    going, maybe, waiting = (section(RsvpStatus.YES), section(RsvpStatus.MAYBE),
                             section(RsvpStatus.WAITLIST))
    taken = counts.get(RsvpStatus.YES, (0, 0))[1]
    lines = [describe(meetup, chapter, ctx.lang), *detail_lines(meetup)]
    head = (_.n("Going ({n}/{max}):", "Going ({n}/{max}):", taken, max=meetup.capacity)
            if meetup.capacity else _.n("Going ({n}):", "Going ({n}):", taken))
    lines.append(head + ("" if going else " " + _.p("who heading", "nobody yet")))
    lines += [f"• {g}" for g in going] + more(RsvpStatus.YES, len(going))
    if maybe:
        lines.append(_.p("who heading", "Maybe:"))
        lines += [f"• {m}" for m in maybe] + more(RsvpStatus.MAYBE, len(maybe))
    if waiting:
        lines.append(_.p("who heading", "Waitlist:"))
        lines += [f"{i}. {w}" for i, w in enumerate(waiting, 1)]
        lines += more(RsvpStatus.WAITLIST, len(waiting))
    ctx.reply("\n".join(lines))


WHO_SHOWN = 100  # names shown under each answer; a chapter of thousands gets a count for the rest


def _first_answers() -> Select[Any]:
    order = func.row_number().over(partition_by=Rsvp.status,
                                   order_by=(Rsvp.waitlist_seq, Rsvp.updated_at, Rsvp.id))
    ranked = (select(Rsvp.person_id, Rsvp.status, Rsvp.guests, order.label("n"))
              .where(Rsvp.meetup_id == bindparam("meetup")).subquery())
    return (select(ranked.c.person_id, ranked.c.status, ranked.c.guests)
            .where(ranked.c.n <= WHO_SHOWN).order_by(ranked.c.status, ranked.c.n))


# Built once (a window over a subquery costs more to build than to run from the cache).
_FIRST_ANSWERS = _first_answers()
_NAMES = select(Person.id, Person.display_name, Person.intro).where(
    Person.id.in_(bindparam("ids", expanding=True)))


async def who_shown(ctx: Ctx, meetup_id: int) -> list[tuple[RsvpStatus, int, str, str | None]]:
    """(answer, guests, name, intro) of the first WHO_SHOWN of each answer, in the order they
    answered (the waitlist in its order). Two bounded steps, so that a meetup of thousands
    reads its own answers and at most 3 × WHO_SHOWN people, never the network's people."""
    firsts = (await ctx.s.execute(_FIRST_ANSWERS, {"meetup": meetup_id})).all()
    people = {pid: (name, intro) for pid, name, intro in (await ctx.s.execute(
        _NAMES, {"ids": [row[0] for row in firsts]})).all()} if firsts else {}
    return [(RsvpStatus(status), guests, *people[pid]) for pid, status, guests in firsts
            if pid in people]


_UPCOMING = (upcoming([MeetupStatus.SCHEDULED, MeetupStatus.POLLING])
             .order_by(Meetup.starts_at, Meetup.id))


async def list_meetups(ctx: Ctx, args: str) -> None:
    _ = ctx._
    if ctx.is_private:
        chapter_ids = await chapter_ids_of(ctx.s, ctx.person.id)
    else:
        chapter_ids = [ctx.require_chapter().id]
    lines = []
    for chapter_id in chapter_ids:
        chapter = await ctx.s.get_one(Chapter, chapter_id)
        meetups = await ctx.s.scalars(_UPCOMING, {"chapter": chapter_id, "now": ctx.now})
        for m in meetups:
            if m.starts_at is None:
                lines.append(_("{title} — date still being voted on", title=m.title))
            elif m.starts_at > ctx.now:
                lines.append(describe(m, chapter, ctx.lang))
            else:
                continue
            if ctx.is_private:
                lines[-1] += defuse(f" ({chapter.name})")
            if public_url := ctx.svc.settings.public_url:
                lines[-1] += f" {meetup_page(public_url, m)}"
    if not lines:
        ctx.reply(_("No meetups planned. Send /next to hear when one is."))
        return
    ctx.reply(_("Upcoming meetups:") + "\n" + "\n".join(f"• {line}" for line in lines))


async def cancel(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_organiser()
    meetup = await next_meetup(ctx.s, chapter.id, ctx.now, include_polling=True)
    if meetup is None:
        raise UserError("There is no upcoming meetup to cancel.")
    _rest, yes = split_yes(args)
    if not await confirmed(ctx, "cancel", "", yes, ctx._(
            "Cancel {title}? Everyone who answered hears it by private message.",
            title=meetup.title)):
        return
    was_polling = meetup.status == MeetupStatus.POLLING
    meetup.status = MeetupStatus.CANCELLED
    meetup.sequence += 1  # calendars that have it (files, feeds) show it cancelled
    await clear_meetup(ctx, meetup.id)
    if was_polling:
        polls = await ctx.s.scalars(select(Poll).where(Poll.meetup_id == meetup.id,
                                                       Poll.closed_at.is_(None)))
        for poll in polls:
            if await mark_closed(ctx, poll):
                await close_platform_polls(ctx, poll)
    await ctx.s.flush()
    _ = ctx._
    await post_to_chapter(ctx, chapter.id, _("❌ {title} is cancelled.", title=meetup.title))
    if meetup.starts_at is not None:
        await refresh_announcements(ctx, meetup, chapter)
    told = list(await ctx.s.scalars(select(Person).join(Rsvp, Person.id == Rsvp.person_id)
                                    .where(Rsvp.meetup_id == meetup.id,
                                           Rsvp.status.in_([RsvpStatus.YES, RsvpStatus.MAYBE,
                                                            RsvpStatus.WAITLIST]))
                                    .order_by(Rsvp.id)))
    targets = await dm_targets_of(ctx.s, [p.id for p in told])
    for person in told:
        t = translator(person.language or chapter.language)
        await send_dm(ctx, person, chapter, meetup.id,
                      t("Sorry: {title} ({chapter}) is cancelled.", title=meetup.title,
                        chapter=chapter.name), targets=targets[person.id])
    if chapter.recurring_rule is not None:  # the rule's next date (not this one) opens
        await open_next(ctx, chapter)


async def ics(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_chapter()
    _ = ctx._
    if args.strip().lower() in ("all", "alles"):
        meetups = list(await ctx.s.scalars(select(Meetup).where(
            Meetup.chapter_id == chapter.id, Meetup.starts_at.is_not(None))
            .order_by(Meetup.starts_at)))
        if not meetups:
            raise UserError("No meetups with a date yet.")
        file = calendar_file("chapter.ics",
                             [calendar_event(m, chapter, ctx.now) for m in meetups],
                             chapter.name)
    else:
        meetup = await next_meetup(ctx.s, chapter.id, ctx.now)
        if meetup is None:
            raise UserError("No meetup is planned yet. Send /next to hear when one is.")
        file = meetup_calendar(meetup, chapter, ctx.now)
    ctx.out.file(ctx.chat, file, _("Add it to your calendar."))
