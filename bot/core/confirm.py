"""Destructive commands ask first (/cancel, /recurring off, /unlink): the person who asked
confirms with the button under the question, or with the same command again followed by `yes`
within a minute. A tapped `/cancel@bot` in someone's intro, or a `/cancel yes` with no question
before it, does nothing."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from bot.core.errors import UserError
from bot.core.messages import Button
from bot.core.text import tappable
from bot.core.work import Ctx
from bot.db.models import Confirmation

CONFIRM_WITHIN = timedelta(minutes=1)
YES = frozenset({"yes", "ja"})
PAYLOAD = "confirm:"  # a button's payload: "confirm:<token>"
MAX_ARGS = 200


def split_yes(args: str) -> tuple[str, bool]:
    """'off yes' -> ('off', True); 'off' -> ('off', False)."""
    words = args.split()
    if words and words[-1].lower() in YES:
        return " ".join(words[:-1]), True
    return " ".join(words), False


async def confirmed(ctx: Ctx, command: str, args: str, yes: bool, question: str) -> bool:
    """True when this is the confirmation of `/command args` by the person who asked for it
    within the last minute (its question is used up). Otherwise the question is asked with a
    button and the command's own "again with yes", and False is returned: do nothing yet.
    The caller has checked everything else first, so a refusal comes before the question."""
    chapter = ctx.require_chapter()
    _ = ctx._
    args = args[:MAX_ARGS]
    pending = await ctx.s.scalar(select(Confirmation).where(
        Confirmation.chapter_id == chapter.id, Confirmation.person_id == ctx.person.id,
        Confirmation.command == command))
    again = tappable(command, " ".join(part for part in (args, _.p("confirm", "yes")) if part))
    if yes:
        if pending is None or pending.args != args or pending.expires_at < ctx.now:
            raise UserError("There is nothing to confirm. Send {command} first; then {again} "
                            "within a minute.", command=tappable(command, args),
                            again=again)
        await ctx.s.delete(pending)
        await ctx.s.flush()
        return True
    token = secrets.token_urlsafe(12)
    if pending is None:
        ctx.s.add(Confirmation(token=token, chapter_id=chapter.id, person_id=ctx.person.id,
                               command=command, args=args,
                               expires_at=ctx.now + CONFIRM_WITHIN))
    else:
        pending.token, pending.args = token, args
        pending.expires_at = ctx.now + CONFIRM_WITHIN
    await ctx.s.flush()
    ctx.reply(question + "\n" + _("To go ahead, tap the button or send {again} within a minute.",
                                  again=again),
              [Button(again, PAYLOAD + token)])
    return False


async def pending_by_token(ctx: Ctx, token: str) -> Confirmation:
    """The question a button belongs to, when it is this person's, in this chapter, and still
    open; else a short refusal."""
    chapter = ctx.require_chapter()
    row = await ctx.s.scalar(select(Confirmation).where(Confirmation.token == token[:32]))
    if row is None or row.expires_at < ctx.now:
        raise UserError("That question has expired. Send the command again.")
    if row.chapter_id != chapter.id or row.person_id != ctx.person.id:
        raise UserError("Only the person who asked can confirm this.")
    return row
