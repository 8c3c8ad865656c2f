"""At and after the meetup: /checkin, the follow-up in the group, and /stats."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, func, select

from bot.core.errors import UserError
from bot.core.i18n import format_when
from bot.core.queries import seats_taken
from bot.core.rules import fits
from bot.core.work import Ctx
from bot.db.models import Interest, Meetup, MeetupStatus, Membership, Rsvp, RsvpStatus

CHECKIN_OPENS = timedelta(hours=1)  # before the start
CHECKIN_CLOSES = timedelta(hours=4)  # after the start
STATS_MEETUPS = 5


async def checkin(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_chapter()
    _ = ctx._
    current = await ctx.s.scalar(
        select(Meetup).where(
            Meetup.chapter_id == chapter.id, Meetup.status == MeetupStatus.SCHEDULED,
            Meetup.starts_at <= ctx.now + CHECKIN_OPENS,
            Meetup.starts_at >= ctx.now - CHECKIN_CLOSES,
        ).order_by(Meetup.starts_at.desc()).limit(1))
    if current is None:
        raise UserError("Check-in opens an hour before a meetup and closes four hours after "
                        "its start.")
    rsvp = await ctx.s.scalar(select(Rsvp).where(Rsvp.meetup_id == current.id,
                                                 Rsvp.person_id == ctx.person.id))
    if rsvp is None:  # a walk-in: welcome, and counted; a seat only if one is free
        await ctx.s.execute(select(Meetup.id).where(Meetup.id == current.id).with_for_update())
        free = fits(current.capacity, await seats_taken(ctx.s, current.id), 1)
        rsvp = Rsvp(meetup_id=current.id, person_id=ctx.person.id,
                    status=RsvpStatus.YES if free else RsvpStatus.MAYBE, guests=0,
                    updated_at=ctx.now)
        ctx.s.add(rsvp)
    if rsvp.checked_in_at is not None:
        ctx.reply(_("{name}, you're already checked in.", name=ctx.person.display_name))
        return
    rsvp.checked_in_at = ctx.now
    await ctx.s.flush()
    here = await ctx.s.scalar(select(func.count()).select_from(Rsvp).where(
        Rsvp.meetup_id == current.id, Rsvp.checked_in_at.is_not(None)))
    ctx.out.live.append({"type": "here", "meetup": current.id, "n": int(here or 0)})
    ctx.reply(_.n("Welcome, {name}! {n} checked in at {title} so far.",
                  "Welcome, {name}! {n} checked in at {title} so far.", int(here or 0),
                  name=ctx.person.display_name, title=current.title))


async def stats(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_organiser()
    _ = ctx._
    yes = func.sum(case((Rsvp.status == RsvpStatus.YES, 1), else_=0))
    came = func.sum(case((Rsvp.checked_in_at.is_not(None), 1), else_=0))
    # Attendance is of those who said yes: a "maybe" who came counts as came, not as a yes
    # who showed up, so the share never passes 100 %.
    yes_came = func.sum(case(((Rsvp.status == RsvpStatus.YES)
                              & Rsvp.checked_in_at.is_not(None), 1), else_=0))
    held = list((await ctx.s.execute(
        select(Meetup.title, Meetup.starts_at, yes, came, yes_came)
        .outerjoin(Rsvp, Rsvp.meetup_id == Meetup.id)
        .where(Meetup.chapter_id == chapter.id, Meetup.status == MeetupStatus.SCHEDULED,
               Meetup.starts_at < ctx.now)
        .group_by(Meetup.id, Meetup.title, Meetup.starts_at)
        .order_by(Meetup.starts_at.desc()))).all())
    members = int(await ctx.s.scalar(select(func.count()).select_from(Membership).where(
        Membership.chapter_id == chapter.id)) or 0)
    new = int(await ctx.s.scalar(select(func.count()).select_from(Membership).where(
        Membership.chapter_id == chapter.id,
        Membership.joined_at >= ctx.now - timedelta(days=30))) or 0)
    waiting = int(await ctx.s.scalar(select(func.count()).select_from(Interest).where(
        Interest.chapter_id == chapter.id)) or 0)
    lines = [
        _("Stats for {name}", name=chapter.name),
        _.n("Meetups held: {n}", "Meetups held: {n}", len(held)),
        _.n("Members: {n} ({new} new in the last 30 days)",
            "Members: {n} ({new} new in the last 30 days)", members, new=new),
        _.n("Waiting for the next announcement: {n}", "Waiting for the next announcement: {n}",
            waiting),
    ]
    said_yes = sum(int(r[2] or 0) for r in held)
    checked = sum(int(r[4] or 0) for r in held)
    if said_yes:
        lines.append(_.n("Attendance: {came} checked in of {yes} who said yes ({pct}%)",
                         "Attendance: {came} checked in of {yes} who said yes ({pct}%)",
                         said_yes,
                       came=checked, yes=said_yes, pct=round(100 * checked / said_yes)))
    for title, starts_at, y, c, yc in held[:STATS_MEETUPS]:
        y, c = int(y or 0), int(c or 0)
        noshow = y - int(yc or 0)
        lines.append(_("• {title}, {when}: {yes}, {came}, {noshow}",
                       title=title, when=format_when(starts_at, chapter.timezone, ctx.lang),
                       yes=_.n("{n} said yes", "{n} said yes", y),
                       came=_.n("{n} came", "{n} came", c),
                       noshow=_.n("{n} no-show", "{n} no-shows", noshow)))
    ctx.reply("\n".join(lines))
