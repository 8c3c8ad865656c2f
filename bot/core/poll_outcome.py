"""The combined outcome of a meetup's date poll, kept on its card: in a chapter spread over
Telegram and Matrix each native poll shows only its own platform's votes."""

from __future__ import annotations

from sqlalchemy import distinct, func, select

from bot.core.i18n import translator
from bot.core.work import Work
from bot.db.models import Meetup, Poll, PollKind, PollOption, Vote


async def date_poll_lines(w: Work, meetup: Meetup, language: str) -> list[str]:
    """E.g. ["Date picked by 3 of 4 voters"], counted over every platform's votes of the
    meetup's closed date poll; none when it had no poll, no voters, or its date is none of
    the poll's options (moved since)."""
    if meetup.starts_at is None:
        return []
    poll_id = await w.s.scalar(select(Poll.id).where(
        Poll.chapter_id == meetup.chapter_id, Poll.meetup_id == meetup.id,
        Poll.kind == PollKind.DATE, Poll.closed_at.is_not(None)).order_by(Poll.id.desc())
        .limit(1))
    if poll_id is None:
        return []
    voters = int(await w.s.scalar(select(func.count(distinct(Vote.person_id)))
                                  .where(Vote.poll_id == poll_id)) or 0)
    picked = int(await w.s.scalar(
        select(func.count(distinct(Vote.person_id)))
        .join(PollOption, PollOption.id == Vote.option_id)
        .where(Vote.poll_id == poll_id, PollOption.starts_at == meetup.starts_at)) or 0)
    if not voters or not picked:
        return []
    _ = translator(language)
    return [_.n("Date picked by {k} of {n} voter", "Date picked by {k} of {n} voters", voters,
                k=picked)]
