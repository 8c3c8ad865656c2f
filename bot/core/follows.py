"""Following a chapter: /follow and /unfollow. A follower is DM'd every new meetup of the
chapter with its RSVP buttons (announce.notify_followers); /next stays one-shot."""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.core.errors import UserError
from bot.core.notify import dm_start_hint
from bot.core.queries import chapter_ids_of
from bot.core.work import Ctx
from bot.db.models import Chapter, Follow


async def follow(ctx: Ctx, args: str) -> None:
    """In the chapter's chat; in a DM, for the one chapter the sender is in."""
    _ = ctx._
    chapter = await _chapter_meant(ctx)
    exists = await ctx.s.scalar(select(Follow.id).where(Follow.chapter_id == chapter.id,
                                                        Follow.person_id == ctx.person.id))
    if exists is None:
        ctx.s.add(Follow(chapter_id=chapter.id, person_id=ctx.person.id, created_at=ctx.now))
        reply = _("{name}, you now follow {chapter}: I'll send you a private message for every "
                  "new meetup. /unfollow stops it.", name=ctx.person.display_name,
                  chapter=chapter.name)
    else:
        reply = _("{name}, you already follow {chapter}. /unfollow stops it.",
                  name=ctx.person.display_name, chapter=chapter.name)
    hint = None if ctx.is_private else await dm_start_hint(ctx)
    ctx.reply(reply if hint is None else f"{reply}\n{hint}")


async def unfollow(ctx: Ctx, args: str) -> None:
    """In a chapter's chat: that chapter. In a DM: every chapter followed (the DMs stop)."""
    _ = ctx._
    if ctx.is_private and ctx.chapter is None:
        names = list(await ctx.s.scalars(
            select(Chapter.name).join(Follow, Follow.chapter_id == Chapter.id)
            .where(Follow.person_id == ctx.person.id).order_by(Chapter.name)))
        if not names:
            raise UserError("You don't follow any chapter.")
        await ctx.s.execute(delete(Follow).where(Follow.person_id == ctx.person.id))
        ctx.reply(_("You no longer follow {chapters}.", chapters=", ".join(names)))
        return
    chapter = ctx.require_chapter()
    gone = await ctx.s.execute(delete(Follow).where(Follow.chapter_id == chapter.id,
                                                    Follow.person_id == ctx.person.id)
                               .returning(Follow.id))
    if gone.first() is None:
        raise UserError("{name}, you don't follow {chapter}.", name=ctx.person.display_name,
                        chapter=chapter.name)
    ctx.reply(_("{name}, you no longer follow {chapter}.", name=ctx.person.display_name,
                chapter=chapter.name))


async def _chapter_meant(ctx: Ctx) -> Chapter:
    if ctx.chapter is None and ctx.is_private:
        ids = await chapter_ids_of(ctx.s, ctx.person.id)
        if len(ids) != 1:
            raise UserError("Send /follow in the group chat of the chapter you mean.")
        return await ctx.s.get_one(Chapter, ids[0])
    return ctx.require_chapter()
