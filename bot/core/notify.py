"""Telling people: a post in every chat of a chapter, a DM to a person, and what happens
when a DM can't be delivered."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from bot.core.i18n import translator
from bot.core.messages import Button, OutFile, UserRef
from bot.core.outbox import Posted
from bot.core.ports import CannotDM
from bot.core.queries import chapter_chats, dm_targets
from bot.core.work import Ctx, Work
from bot.db.models import Chapter, DmHint, Identity, Person


async def post_to_chapter(w: Work, chapter_id: int, text: str, buttons: Sequence[Button] = (),
                          record: Posted | None = None) -> None:
    """Post in every chat of the chapter, whichever platform it is on: a row for a platform
    this copy doesn't serve waits for a copy that does."""
    for chat in await chapter_chats(w.s, chapter_id):
        w.out.text(chat, text, buttons, record)


async def send_dm(w: Work, person: Person, chapter: Chapter, meetup_id: int | None, text: str,
                  file: OutFile | None = None, targets: list[UserRef] | None = None,
                  buttons: Sequence[Button] = (), record: Posted | None = None) -> None:
    """DM a person on a platform the chapter uses. When the platform refuses, the person is
    named once per meetup in the chapter's chat with a hint how to start the bot.
    `targets` (from dm_targets_of) saves a query per person when DMing many; `record` files
    the DM like a post, so its buttons (or Matrix reactions) answer for its meetup."""
    if targets is None:
        targets = await dm_targets(w.s, person.id)
    if targets:
        w.out.dm(targets, text, file, (person.id, chapter.id, meetup_id), buttons=buttons,
                 record=record)


async def dm_start_hint(ctx: Ctx) -> str | None:
    """None when the sender has opened a private chat with the bot on some platform; else
    how to do it, in the chat's language, with the platform's link where it has one."""
    started = await ctx.s.scalar(select(func.count()).select_from(Identity).where(
        Identity.person_id == ctx.person.id, Identity.dm_started))
    if started:
        return None
    hint = ctx.svc.messenger(ctx.chat.platform).start_hint(ctx.sender)
    if hint.startswith(("https://", "http://")):
        return ctx._("I can't send you private messages yet: tap {link} and press Start.",
                     link=hint)
    return ctx._("I can't send you private messages yet: open a private chat with me and "
                 "send /start.")


async def dm_failed(w: Work, person: Person, chapter: Chapter, meetup_id: int | None,
                    failure: CannotDM, name_in_chat: bool = True) -> None:
    """Remember the refusal and name the person once per meetup in the chapter's chat."""
    s = w.s
    identity = await s.scalar(select(Identity).where(
        Identity.platform == failure.user.platform,
        Identity.platform_user_id == failure.user.id))
    if identity is not None:
        identity.dm_started = False
    if not name_in_chat:
        return
    if meetup_id is not None:
        seen = await s.scalar(select(DmHint).where(DmHint.person_id == person.id,
                                                   DmHint.meetup_id == meetup_id))
        if seen is not None:
            return
        s.add(DmHint(person_id=person.id, meetup_id=meetup_id, created_at=w.now))
        await s.flush()
    _ = translator(chapter.language)
    hint = failure.start_hint or w.svc.messenger(failure.user.platform).start_hint(failure.user)
    # An adapter's hint is used when it is a link; its sentences would be in English only.
    if hint.startswith(("https://", "http://")):
        text = _("{name}, I can't send you private messages yet. Tap {link} and press Start, "
                 "so I can send you reminders.", name=failure.user.name, link=hint)
    else:
        text = _("{name}, I can't send you private messages yet. Open a private chat with me "
                 "and send /start, so I can send you reminders.", name=failure.user.name)
    for chat in await chapter_chats(s, chapter.id):
        if chat.platform == failure.user.platform:
            w.out.text(chat, text)
