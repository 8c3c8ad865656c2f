"""Who organises a chapter, and its chats: /link, /unlink, /organisers.

Two kinds of organiser rights (docs/security.md):
- an admin of one of the chapter's chats organises in that chat, checked live with every
  command (the adapter says whether the sender is an admin now), so the right ends when they
  stop being its admin. `ChatAdmin` rows only name them in /organisers;
- a named organiser of the whole chapter (`Membership.is_organiser`): who set it up, or whom an
  organiser added, until an organiser removes them.
A link code is sent by DM, works once, for ten minutes, and only for an admin of the chat it
binds; using it makes nobody a named organiser.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, func, or_, select

from bot.core.confirm import confirmed, split_yes
from bot.core.errors import UserError
from bot.core.i18n import Translate, translator
from bot.core.messages import ChatRef
from bot.core.notify import post_to_chapter
from bot.core.people import ensure_membership, note_admin
from bot.core.queries import chapter_chats, dm_targets
from bot.core.work import Ctx
from bot.db.models import (
    Chapter,
    ChatAdmin,
    ChatBinding,
    Identity,
    Membership,
    OrganiserReason,
    Person,
    PostedMessage,
)

LINK_VALID = timedelta(minutes=10)
LINK_CODE_BYTES = 6  # 12 hex digits: not guessed in ten minutes, at any command rate


def chat_label(_: Translate, chat: ChatRef) -> str:
    """How a chat is named to people: the platforms tell the bot no chat titles."""
    if chat.platform == "telegram":
        return _("the Telegram group {id}", id=chat.id)
    if chat.platform == "matrix":
        return _("the Matrix room {id}", id=chat.id)
    return _("the chat {id}", id=chat.id)


# --- /link -----------------------------------------------------------------------------------

async def link(ctx: Ctx, args: str) -> None:
    """`/link` in a chapter's chat: the code goes to the organiser by DM. `/link CODE` in
    another group or room, by an admin of it: that chat joins the chapter."""
    ctx.require_group()
    code = args.strip().upper()
    if not code:
        await _give_code(ctx)
    else:
        await _use_code(ctx, code)


async def _give_code(ctx: Ctx) -> None:
    chapter = ctx.require_organiser()
    _ = ctx._
    started = await ctx.s.scalar(select(func.count()).select_from(Identity).where(
        Identity.person_id == ctx.person.id, Identity.dm_started))
    hint = ctx.svc.messenger(ctx.chat.platform).start_hint(ctx.sender)
    if not started and hint.startswith(("https://", "http://")):
        # Telegram: a bot can't write first. No code is made, none is shown here.
        raise UserError("{name}, I send link codes by private message, and I can't write to you "
                        "yet. Tap {link}, press Start, then send /link here again.",
                        name=ctx.sender.name, link=hint)
    chapter.link_code = secrets.token_hex(LINK_CODE_BYTES).upper()
    chapter.link_expires_at = ctx.now + LINK_VALID
    t = translator(ctx.person.language or chapter.language)
    ctx.out.dm(await dm_targets(ctx.s, ctx.person.id),
               t("Your code to run {name} in another group or room too (Telegram or Matrix). "
                 "An admin of that group or room sends this there within 10 minutes; it works "
                 "once:\n/link {code}\nDon't post it in a group: whoever has it can link a chat "
                 "they administer.", name=chapter.name, code=chapter.link_code),
               None, (ctx.person.id, chapter.id, None))
    ctx.reply(_("{name}, I've sent you a link code in a private chat. It works once, within "
                "10 minutes, for an admin of the group or room to be linked.",
                name=ctx.sender.name))


async def _use_code(ctx: Ctx, code: str) -> None:
    found = await ctx.s.scalar(select(Chapter).where(Chapter.link_code == code[:32]))
    if found is None or found.link_expires_at is None or found.link_expires_at < ctx.now:
        found = None
    if found is not None and (ctx.chapter is not None or not ctx.is_admin):
        # Typed where it can't be used: it has been seen, so it is used up (not rolled back).
        found.link_code, found.link_expires_at = None, None
        if ctx.chapter is not None:
            ctx.reply(ctx._("This chat already belongs to the chapter {name}. That code no "
                            "longer works.", name=ctx.chapter.name))
        else:
            ctx.reply(ctx._("Only the group's admins can link it to a chapter. That code no "
                            "longer works; the organiser can ask for a new one with /link."))
        return
    if ctx.chapter is not None:
        raise UserError("This chat already belongs to the chapter {name}.", name=ctx.chapter.name)
    if not ctx.is_admin:
        raise UserError("Only the group's admins can link it to a chapter.")
    if found is None:
        raise UserError("That link code is unknown or has expired. Ask an organiser for a new "
                        "one: /link in the chapter's chat.")
    chapter = found
    chapter.link_code, chapter.link_expires_at = None, None
    ctx.s.add(ChatBinding(chapter_id=chapter.id, platform=ctx.chat.platform, chat_id=ctx.chat.id))
    await ctx.s.flush()
    await ensure_membership(ctx.s, chapter, ctx.person, ctx.now)
    await note_admin(ctx.s, ctx.chat, ctx.person, True, ctx.now)
    _ = translator(chapter.language)
    await post_to_chapter(ctx, chapter.id, _(
        "🔗 {chat} is now part of {name}, linked by {person}: polls, announcements and the head "
        "count are shared by all its chats. /organisers shows who organises.",
        chat=chat_label(_, ctx.chat), name=chapter.name, person=ctx.sender.name))


# --- /unlink ---------------------------------------------------------------------------------

async def unlink(ctx: Ctx, args: str) -> None:
    """`/unlink` removes this chat from its chapter; `/unlink N` the chapter's chat number N
    (as /organisers lists them). Asks first."""
    ctx.require_group()
    chapter = ctx.require_organiser()
    _ = ctx._
    rest, yes = split_yes(args)
    chats = await chapter_chats(ctx.s, chapter.id)
    if not rest:
        target = ctx.chat
    elif rest.isascii() and rest.isdigit() and len(rest) <= 3 and 1 <= int(rest) <= len(chats):
        target = chats[int(rest) - 1]
    else:
        raise UserError("Write it like: /unlink (this chat) or /unlink 2 (the chat numbered 2 "
                        "in /organisers).")
    named = ctx.membership is not None and ctx.membership.is_organiser
    if target != ctx.chat and not named:
        raise UserError("Only the chapter's named organisers (see /organisers) can unlink another "
                        "chat; that chat's admins can unlink it there.")
    if len(chats) == 1:
        raise UserError("This is the chapter's only chat, so it can't be unlinked.")
    label = chat_label(_, target)
    if not await confirmed(ctx, "unlink", rest, yes, _(
            "Unlink {chat} from {name}? It gets no more polls, announcements or reminders.",
            chat=label, name=chapter.name)):
        return
    await post_to_chapter(ctx, chapter.id, _(
        "✂️ {chat} is no longer part of {name} (unlinked by {person}).",
        chat=label, name=chapter.name, person=ctx.sender.name))
    await ctx.s.execute(delete(PostedMessage).where(
        PostedMessage.chapter_id == chapter.id, PostedMessage.platform == target.platform,
        PostedMessage.chat_id == target.id))
    await ctx.s.execute(delete(ChatBinding).where(
        ChatBinding.platform == target.platform, ChatBinding.chat_id == target.id))


# --- /organisers -----------------------------------------------------------------------------

async def organisers(ctx: Ctx, args: str) -> None:
    """`/organisers`: who may organise and why, and the chapter's chats. `/organisers add
    <name>` and `/organisers remove <name>` (organisers only) name co-organisers."""
    ctx.require_group()
    chapter = ctx.require_chapter()
    words = args.split(maxsplit=1)
    action = words[0].lower() if words else ""
    if not action:
        ctx.reply(await _listing(ctx, chapter))
        return
    if action not in ("add", "remove", "toevoegen", "verwijderen") or len(words) < 2:
        raise UserError("Write it like: /organisers, /organisers add Bob or /organisers "
                        "remove Bob")
    ctx.require_organiser()
    person, membership = await _member_named(ctx, chapter, words[1].strip())
    _ = translator(chapter.language)
    if action in ("add", "toevoegen"):
        if membership.is_organiser:
            ctx.reply(_("{person} already organises {name}.", person=person.display_name,
                        name=chapter.name))
            return
        membership.is_organiser = True
        membership.organiser_reason = OrganiserReason.ADDED
        membership.organiser_added_by = ctx.person.id
        membership.organiser_since = ctx.now
        await post_to_chapter(ctx, chapter.id, _(
            "{person} is now an organiser of {name}, added by {by}.",
            person=person.display_name, name=chapter.name, by=ctx.person.display_name))
        return
    if not membership.is_organiser:
        raise UserError("{person} is not a named organiser of this chapter. Admins of a chat "
                        "organise there for as long as they are its admins.",
                        person=person.display_name)
    membership.is_organiser = False
    membership.organiser_reason = None
    membership.organiser_added_by = None
    membership.organiser_since = None
    await post_to_chapter(ctx, chapter.id, _(
        "{person} is no longer an organiser of {name} (removed by {by}).",
        person=person.display_name, name=chapter.name, by=ctx.person.display_name))


async def _member_named(ctx: Ctx, chapter: Chapter, name: str) -> tuple[Person, Membership]:
    """A member of the chapter by their account id (`@bob:example.org`, a Telegram user id) or
    their name as the bot shows it."""
    wanted = name.lstrip("@").casefold()
    rows = (await ctx.s.execute(
        select(Person, Membership).join(Membership, Membership.person_id == Person.id)
        .join(Identity, Identity.person_id == Person.id)
        .where(Membership.chapter_id == chapter.id,
               or_(Identity.platform_user_id == name[:255],
                   func.lower(Person.display_name) == wanted[:120],
                   func.lower(Identity.display_name) == wanted[:120]))
        .order_by(Person.id))).unique().all()
    found = {person.id: (person, membership) for person, membership in rows}
    if not found:
        raise UserError("I don't know {name} in this chapter. They need to have sent me a "
                        "command in one of its chats first.", name=name[:60])
    if len(found) > 1:
        raise UserError("Several members are called {name}. Use their account id instead.",
                        name=name[:60])
    return next(iter(found.values()))


async def _listing(ctx: Ctx, chapter: Chapter) -> str:
    _ = ctx._
    reasons: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    named = await ctx.s.execute(
        select(Person, Membership).join(Membership, Membership.person_id == Person.id)
        .where(Membership.chapter_id == chapter.id, Membership.is_organiser)
        .order_by(Membership.organiser_since, Person.id))
    for person, membership in named.all():
        names[person.id] = person.display_name
        if membership.organiser_reason == OrganiserReason.SETUP:
            reasons.setdefault(person.id, []).append(_("set up the chapter"))
        else:
            by = (await ctx.s.get(Person, membership.organiser_added_by)
                  if membership.organiser_added_by else None)
            reasons.setdefault(person.id, []).append(
                _("added by {person}", person=by.display_name) if by else _("added"))
    chats = await chapter_chats(ctx.s, chapter.id)
    admins = await ctx.s.execute(
        select(Person, ChatBinding).join(ChatAdmin, ChatAdmin.person_id == Person.id)
        .join(ChatBinding, ChatBinding.id == ChatAdmin.binding_id)
        .where(ChatBinding.chapter_id == chapter.id).order_by(ChatAdmin.seen_at, Person.id))
    for person, binding in admins.all():
        names[person.id] = person.display_name
        reasons.setdefault(person.id, []).append(_("admin of {chat}", chat=chat_label(
            _, ChatRef(binding.platform, binding.chat_id))))
    lines = [_("Organisers of {name}:", name=chapter.name)]
    lines += [f"• {names[pid]}: {'; '.join(why)}" for pid, why in reasons.items()]
    if not reasons:
        lines.append(_("(none seen yet)"))
    lines.append(_("Chats of the chapter:"))
    for number, chat in enumerate(chats, 1):
        here = " " + _("(this one)") if chat == ctx.chat else ""
        lines.append(f"{number}. {chat_label(_, chat)}{here}")
    lines.append(_("Admins of a chat organise there while they are its admins. Organisers add "
                   "or remove others with /organisers add <name> or /organisers remove <name>, "
                   "and unlink a chat with /unlink <number>."))
    return "\n".join(lines)
