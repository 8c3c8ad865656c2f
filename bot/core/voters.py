"""Votes from members only: a native poll answer counts only from a member of a chat bound
to the poll's chapter.

A Telegram poll that is not anonymous can be forwarded out of its group and answered
anywhere; the answer still reaches the bot. So a voter the chapter does not know (no
membership yet: never wrote a command, voted or answered there) is looked up on the
platform, in the chapter's chats there. A voter found there gets a membership with their
vote, which is how the result is kept: the next answer costs no lookup. Adapters keep a
short-lived, bounded cache of the answers too, so an outsider who keeps voting does not cost
a lookup each time.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.messages import ChatRef, PollAnswer
from bot.db.models import ChatBinding, Identity, Membership, Poll, PostedMessage, PostKind


async def chats_to_ask(s: AsyncSession, answers: Sequence[PollAnswer]
                       ) -> dict[int, list[ChatRef]]:
    """For each answer (by its index) whose voter the chapter does not know, the chapter's
    chats on the answer's platform, to ask whether the voter is in one. Answers to unknown
    polls (ignored anyway) and from known voters are left out. A few queries for the whole
    batch, whatever its size."""
    if not answers:
        return {}
    platforms = {a.platform for a in answers}
    polls = (await s.execute(
        select(PostedMessage.platform, PostedMessage.platform_poll_id, Poll.chapter_id)
        .join(Poll, Poll.id == PostedMessage.poll_id)
        .where(PostedMessage.platform.in_(platforms),
               PostedMessage.platform_poll_id.in_({a.platform_poll_id for a in answers}),
               PostedMessage.kind == PostKind.POLL))).all()
    chapter_of = {(platform, pid): chapter for platform, pid, chapter in polls}
    asked = {i: chapter_of[(a.platform, a.platform_poll_id)] for i, a in enumerate(answers)
             if (a.platform, a.platform_poll_id) in chapter_of}
    if not asked:
        return {}
    chapters = set(asked.values())
    known = set((await s.execute(
        select(Membership.chapter_id, Identity.platform, Identity.platform_user_id)
        .join(Identity, Identity.person_id == Membership.person_id)
        .where(Membership.chapter_id.in_(chapters),
               Identity.platform.in_(platforms),
               Identity.platform_user_id.in_({answers[i].voter.id for i in asked})))).all())
    unknown = {i: chapter for i, chapter in asked.items()
               if (chapter, answers[i].voter.platform, answers[i].voter.id) not in known}
    if not unknown:
        return {}
    chats: dict[tuple[int, str], list[ChatRef]] = {}
    for chapter, platform, chat_id in (await s.execute(
            select(ChatBinding.chapter_id, ChatBinding.platform, ChatBinding.chat_id)
            .where(ChatBinding.chapter_id.in_(set(unknown.values())),
                   ChatBinding.platform.in_(platforms))
            .order_by(ChatBinding.id))).all():
        chats.setdefault((chapter, platform), []).append(ChatRef(platform, chat_id))
    return {i: chats.get((chapter, answers[i].platform), [])
            for i, chapter in unknown.items()}
