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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.messages import ChatRef, PollAnswer
from bot.db.models import ChatBinding, Identity, Membership, Poll, PostedMessage, PostKind


async def chats_to_ask(s: AsyncSession, answer: PollAnswer) -> list[ChatRef] | None:
    """The chapter's chats on the answer's platform, to ask whether the voter is in one;
    None when there is nothing to ask: the poll is unknown (the vote is ignored anyway) or
    the chapter knows the voter."""
    poll_id = await s.scalar(select(PostedMessage.poll_id).where(
        PostedMessage.platform == answer.platform,
        PostedMessage.platform_poll_id == answer.platform_poll_id,
        PostedMessage.kind == PostKind.POLL))
    if poll_id is None:
        return None
    chapter_id = await s.scalar(select(Poll.chapter_id).where(Poll.id == poll_id))
    if chapter_id is None:
        return None
    known = await s.scalar(
        select(Membership.id)
        .join(Identity, Identity.person_id == Membership.person_id)
        .where(Membership.chapter_id == chapter_id,
               Identity.platform == answer.voter.platform,
               Identity.platform_user_id == answer.voter.id)
        .limit(1))
    if known is not None:
        return None
    chats = await s.scalars(select(ChatBinding.chat_id).where(
        ChatBinding.chapter_id == chapter_id, ChatBinding.platform == answer.platform)
        .order_by(ChatBinding.id))
    return [ChatRef(answer.platform, chat_id) for chat_id in chats]
