"""/calendar: a member's private calendar feed (issue 13) of the meetups they said yes or
maybe to, at a secret address the web server serves (/feed/<token>.ics); `/calendar reset`
replaces the address, and the old one finds nothing from then on."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from bot.core.errors import UserError
from bot.core.slugs import personal_feed, webcal
from bot.core.work import Ctx
from bot.db.models import CalendarToken

TOKEN_BYTES = 24  # 32 URL-safe characters: not to be guessed


async def calendar(ctx: Ctx, args: str) -> None:
    if not ctx.is_private:
        raise UserError("Send /calendar to me in a private chat: its address is yours alone.")
    public_url = ctx.svc.settings.public_url
    if public_url is None:
        raise UserError("This bot has no web pages, so no calendar feed. /ics sends you the "
                        "next meetup as a calendar file.")
    choice = args.strip().lower()
    if choice not in ("", "reset"):
        raise UserError("Write it like: /calendar, or /calendar reset for a new address.")
    _ = ctx._
    row = await ctx.s.scalar(select(CalendarToken).where(CalendarToken.person_id == ctx.person.id))
    if row is None:
        row = CalendarToken(person_id=ctx.person.id, token=secrets.token_urlsafe(TOKEN_BYTES),
                            created_at=ctx.now)
        ctx.s.add(row)
    elif choice == "reset":
        row.token = secrets.token_urlsafe(TOKEN_BYTES)
        row.created_at = ctx.now
    await ctx.s.flush()
    url = personal_feed(public_url, row.token)
    head = (_("Your new calendar address; the old one no longer works:") if choice == "reset"
            else _("Your calendar of the meetups you said yes or maybe to. Subscribe to it in "
                   "your calendar app:"))
    ctx.reply("\n".join([head, webcal(url), _("or: {url}", url=url),
                         _("Keep it to yourself: whoever has it sees your meetups. "
                           "/calendar reset makes a new one and stops this one.")]))
