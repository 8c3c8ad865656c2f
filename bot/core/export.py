"""/export: who answered for a meetup, as a CSV file an organiser gets by DM (for a venue's
list, or for their own spreadsheet). Headers and answers in the chapter's language, times in
its timezone."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.core.errors import UserError
from bot.core.i18n import Translate, translator
from bot.core.messages import OutFile
from bot.core.notify import dm_start_hint, send_dm
from bot.core.text import Tappable, number
from bot.core.work import Ctx
from bot.db.models import Chapter, Identity, Meetup, MeetupStatus, Person, Rsvp, RsvpStatus

MAX_NUMBER = 100
# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection");
# such a cell gets a leading apostrophe, which spreadsheets show as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ORDER = {RsvpStatus.YES: 0, RsvpStatus.MAYBE: 1, RsvpStatus.WAITLIST: 2, RsvpStatus.NO: 3}


async def export(ctx: Ctx, args: str) -> None:
    """`/export`: the next meetup; `/export 2`: the second upcoming one with a date, by date
    (as /meetups lists them); `/export last`: the latest that has started (its check-ins)."""
    chapter = ctx.require_organiser()
    _ = ctx._
    meetup = await _meetup_meant(ctx, chapter, args.strip().lower())
    hint = await dm_start_hint(ctx)
    if hint is not None:
        raise UserError("{name}, I send the list by private message. {hint} Then send /export "
                        "here again.", name=ctx.sender.name, hint=Tappable(hint))
    rows = (await ctx.s.execute(
        select(Rsvp, Person).join(Person, Person.id == Rsvp.person_id)
        .where(Rsvp.meetup_id == meetup.id).order_by(Rsvp.updated_at, Rsvp.id))).all()
    accounts = await _accounts(ctx, [p.id for _r, p in rows])
    t = translator(chapter.language)
    content = csv_bytes(t, chapter.timezone, [(r, p, accounts.get(p.id, [])) for r, p in rows])
    when = meetup.starts_at.astimezone(ZoneInfo(chapter.timezone)) if meetup.starts_at else None
    stem = re.sub(r"[^A-Za-z0-9]+", "-", meetup.title).strip("-").lower()[:40] or "meetup"
    filename = f"{stem}-{when:%Y-%m-%d}.csv" if when else f"{stem}.csv"
    dm = translator(ctx.person.language or chapter.language)
    await send_dm(ctx, ctx.person, chapter, meetup.id,
                  dm.n("{title}: {n} answer, as a spreadsheet file (CSV).",
                       "{title}: {n} answers, as a spreadsheet file (CSV).", len(rows),
                       title=meetup.title),
                  file=OutFile(filename, content, "text/csv"))
    ctx.reply(_("{name}, I've sent you the list for {title} in a private chat.",
                name=ctx.sender.name, title=meetup.title))


async def _meetup_meant(ctx: Ctx, chapter: Chapter, arg: str) -> Meetup:
    if arg in ("last", "laatste"):
        last = await ctx.s.scalar(select(Meetup).where(
            Meetup.chapter_id == chapter.id, Meetup.status == MeetupStatus.SCHEDULED,
            Meetup.starts_at <= ctx.now).order_by(Meetup.starts_at.desc(), Meetup.id.desc())
            .limit(1))
        if last is None:
            raise UserError("No meetup of this chapter has taken place yet.")
        return last
    at = 1 if not arg else number(arg, 1, MAX_NUMBER)
    if at is None:
        raise UserError("Write it like: /export (the next meetup), /export 2 (the second "
                        "upcoming one) or /export last (the latest that took place).")
    upcoming = list(await ctx.s.scalars(select(Meetup).where(
        Meetup.chapter_id == chapter.id, Meetup.status == MeetupStatus.SCHEDULED,
        Meetup.starts_at > ctx.now).order_by(Meetup.starts_at, Meetup.id).limit(at)))
    if not upcoming:
        raise UserError("No meetup is planned yet. Send /next to hear when one is.")
    if len(upcoming) < at:
        raise UserError.plural("There is only {n} upcoming meetup with a date; /meetups lists "
                               "it.", "There are only {n} upcoming meetups with a date; "
                               "/meetups lists them.", len(upcoming))
    return upcoming[at - 1]


async def _accounts(ctx: Ctx, person_ids: Sequence[int]) -> dict[int, list[Identity]]:
    found: dict[int, list[Identity]] = {}
    if person_ids:
        for identity in await ctx.s.scalars(select(Identity).where(
                Identity.person_id.in_(list(person_ids))).order_by(Identity.id)):
            found.setdefault(identity.person_id, []).append(identity)
    return found


def csv_bytes(_: Translate, timezone: str,
              rows: Sequence[tuple[Rsvp, Person, Sequence[Identity]]]) -> bytes:
    """The file: one row a person, going first, then maybe, the waitlist in its order, then
    no; in each, the order they answered. UTF-8 with a byte order mark, so spreadsheet
    programs read accented names right."""
    tz = ZoneInfo(timezone)
    answers = {
        # TRANSLATORS: the answer column of the /export file.
        RsvpStatus.YES: _.p("export answer", "yes"),
        RsvpStatus.MAYBE: _.p("export answer", "maybe"),
        RsvpStatus.NO: _.p("export answer", "no"),
        RsvpStatus.WAITLIST: _.p("export answer", "waitlist"),
    }
    waiting = sorted((r.waitlist_seq or 0, r.id) for r, _p, _i in rows
                     if r.status == RsvpStatus.WAITLIST)
    position = {rsvp_id: at for at, (_seq, rsvp_id) in enumerate(waiting, 1)}
    ordered = sorted(rows, key=lambda row: (_ORDER[row[0].status], position.get(row[0].id, 0)))

    def shown(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([
        # TRANSLATORS: the column headers of the /export file.
        _.p("export column", "Name"), _.p("export column", "Platform"),
        _.p("export column", "Handle"), _.p("export column", "Answer"),
        _.p("export column", "Guests"), _.p("export column", "Waitlist position"),
        _.p("export column", "Checked in"),
        _.p("export column", "Answered ({timezone})", timezone=timezone)])
    for rsvp, person, identities in ordered:
        writer.writerow([cell(v) for v in (
            person.display_name,
            " / ".join(i.platform for i in identities),
            " / ".join(i.platform_user_id for i in identities),
            answers[rsvp.status],
            str(rsvp.guests),
            str(position[rsvp.id]) if rsvp.id in position else "",
            shown(rsvp.checked_in_at),
            shown(rsvp.updated_at))])
    return out.getvalue().encode("utf-8-sig")


def cell(value: str) -> str:
    """A value a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value
