"""One person, several accounts: /whoami (the accounts I know as you, and a code to join
another), /whoami CODE (join), /whoami unlink (apart again), /remindvia (where DMs go).

A code is made for one person on one platform, lives 10 minutes, works once, and only from
an account on another platform; asking again replaces it. Codes are 8 characters from an
alphabet without look-alikes (0/O, 1/I/L): about 10^12 of them, so not guessed in 10 minutes
at the command limit."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, or_, select

from bot.core.errors import UserError
from bot.core.i18n import Translate
from bot.core.joining import Joined, join, split
from bot.core.people import identity_of
from bot.core.queries import dm_targets
from bot.core.work import Ctx
from bot.db.models import AccountCode, Identity, Person, RsvpStatus
from bot.db.session import changed_one_row

CODE_VALID = timedelta(minutes=10)
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
_UNLINK = ("unlink", "ontkoppel")
_LAST = ("last", "laatst")
_KNOWN_PLATFORMS = ("telegram", "matrix")


def platform_name(platform: str) -> str:
    return {"telegram": "Telegram", "matrix": "Matrix"}.get(platform, platform)


def _account(identity: Identity) -> str:
    name, handle = identity.display_name, identity.platform_user_id
    shown = name if name == handle else f"{name} ({handle})"
    return f"• {platform_name(identity.platform)}: {shown}"


def _answer(_: Translate, status: RsvpStatus) -> str:
    words = {RsvpStatus.YES: _.p("rsvp answer", "yes"),
             RsvpStatus.MAYBE: _.p("rsvp answer", "maybe"),
             RsvpStatus.NO: _.p("rsvp answer", "no"),
             RsvpStatus.WAITLIST: _.p("rsvp answer", "waitlist")}
    return words[status]


async def whoami(ctx: Ctx, args: str) -> None:
    ctx.require_private()
    word = args.strip()
    if not word:
        await _show(ctx)
    elif word.lower() in _UNLINK:
        await _unlink(ctx)
    else:
        await _use_code(ctx, word.upper())


async def _identities(ctx: Ctx, person_id: int) -> list[Identity]:
    return list(await ctx.s.scalars(select(Identity).where(Identity.person_id == person_id)
                                    .order_by(Identity.id)))


async def _where_dms_go(ctx: Ctx, person: Person) -> str:
    targets = await dm_targets(ctx.s, person.id)
    return platform_name(targets[0].platform) if targets else "—"


async def _show(ctx: Ctx) -> None:
    _ = ctx._
    mine = await _identities(ctx, ctx.person.id)
    await ctx.s.execute(delete(AccountCode).where(or_(AccountCode.person_id == ctx.person.id,
                                                      AccountCode.expires_at <= ctx.now)))
    code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
    ctx.s.add(AccountCode(code=code, person_id=ctx.person.id, platform=ctx.sender.platform,
                          expires_at=ctx.now + CODE_VALID))
    lines = [_("I know you as:"), *(_account(i) for i in mine), "",
             _("To join your account on another platform to this one, send me this in a "
               "private chat there within 10 minutes (it works once):"),
             f"/whoami {code}"]
    if len(mine) > 1:
        lines += ["", _("Reminders go to {platform}. /remindvia picks another; /whoami unlink "
                        "separates your accounts again.",
                        platform=await _where_dms_go(ctx, ctx.person))]
    ctx.reply("\n".join(lines))


async def _use_code(ctx: Ctx, code: str) -> None:
    _ = ctx._
    found = await ctx.s.scalar(select(AccountCode).where(AccountCode.code == code[:32]))
    if found is None or found.expires_at <= ctx.now:
        raise UserError("That code is unknown, used or expired. Send /whoami in a private chat "
                        "with me on your other account for a new one.")
    if found.person_id == ctx.person.id:
        raise UserError("That code is for this account itself: send it from your account on "
                        "another platform.")
    if found.platform == ctx.sender.platform:
        raise UserError("That code was made on {platform}: send it from your account on another "
                        "platform.", platform=platform_name(found.platform))
    # Used once, even by two senders at the same moment (PostgreSQL): the second waits for
    # the first's delete and then deletes nothing.
    if not changed_one_row(await ctx.s.execute(
            delete(AccountCode).where(AccountCode.id == found.id)
            .execution_options(synchronize_session=False))):
        raise UserError("That code is unknown, used or expired. Send /whoami in a private chat "
                        "with me on your other account for a new one.")
    keeper = await ctx.s.get_one(Person, found.person_id)
    joined = await join(ctx, keeper, ctx.person)
    # One person on two platforms now: where they spoke last chooses where DMs go, and this
    # account is where (single accounts don't keep it: bot/core/app.py, SPOKE_EVERY).
    speaking = await identity_of(ctx.s, ctx.sender)
    if speaking is not None:
        speaking.last_spoke_at = ctx.now
    lines = [_("Done: these accounts are one person now, counted once in answers, votes, seats "
               "and reminders:"), *(_account(i) for i in await _identities(ctx, keeper.id))]
    lines += _notes(_, joined)
    lines.append(_("Reminders go to {platform} (/remindvia changes it). /whoami unlink "
                   "separates them again.", platform=await _where_dms_go(ctx, keeper)))
    ctx.reply("\n".join(lines))


def _notes(_: Translate, joined: Joined) -> list[str]:
    lines = []
    for a in joined.answers:
        lines.append(_("{title}: both accounts had answered ({kept} and {dropped}); I kept "
                       "{kept}.", title=a.title, kept=_answer(_, a.kept),
                       dropped=_answer(_, a.dropped)))
    for v in joined.votes:
        lines.append(_("Poll “{question}”: both accounts had voted; I kept the later votes: "
                       "{options}.", question=v.question, options="; ".join(v.options)))
    return lines


async def _unlink(ctx: Ctx) -> None:
    _ = ctx._
    identity = await identity_of(ctx.s, ctx.sender)
    assert identity is not None  # the sender's account: made before any command runs
    if len(await _identities(ctx, ctx.person.id)) < 2:
        raise UserError("I know only this account as you: there is nothing to unlink.")
    let_go = await split(ctx, ctx.person, identity)
    ctx.reply("\n".join([
        _("Done: these accounts are on their own again, with your settings but without your "
          "answers, votes, follows or organiser rights, which stay with this account:"),
        *(_account(i) for i in let_go)]))


async def remind_via(ctx: Ctx, args: str) -> None:
    """`/remindvia telegram|matrix`: where reminders (and other DMs) go; `/remindvia last`:
    back to where you last spoke."""
    ctx.require_private()
    _ = ctx._
    choice = args.strip().lower()
    mine = await _identities(ctx, ctx.person.id)
    platforms = {i.platform for i in mine}
    if not choice:
        ctx.reply(_("Reminders go to {platform}. Write /remindvia telegram or /remindvia "
                    "matrix to choose, or /remindvia last for where you last spoke to me.",
                    platform=await _where_dms_go(ctx, ctx.person)))
        return
    if choice in _LAST:
        ctx.person.remind_via = None
        ctx.reply(_("Reminders go where you last spoke to me."))
        return
    if choice not in platforms:
        if choice not in _KNOWN_PLATFORMS:
            raise UserError("Write it like: /remindvia telegram, /remindvia matrix or "
                            "/remindvia last")
        raise UserError("I know no account of yours on {platform}. Join it to this one with "
                        "/whoami first.", platform=platform_name(choice))
    ctx.person.remind_via = choice
    started = any(i.dm_started for i in mine if i.platform == choice)
    reply = _("Reminders go to {platform} from now on.", platform=platform_name(choice))
    if not started:
        reply += " " + _("I can't write to you there yet: send me /start in a private chat "
                         "on {platform} first.", platform=platform_name(choice))
    ctx.reply(reply)
