"""The combined outcome of a meetup's date poll, kept on its card: in a chapter spread over
Telegram and Matrix each native poll shows only its own platform's votes."""

from __future__ import annotations

from sqlalchemy import bindparam, distinct, func, select

from bot.core.i18n import translator
from bot.core.work import Work
from bot.db.models import Meetup, Poll, PollKind, PollOption, Vote

# Built once: every RSVP redraws the announcement, and with it this line. The meetup's latest
# closed date poll's voters and those of them who picked the meetup's date, in one query
# (correlated subqueries); no row when there was no such poll.
_VOTERS = (select(func.count(distinct(Vote.person_id))).where(Vote.poll_id == Poll.id)
           .scalar_subquery())
_PICKED = (select(func.count(distinct(Vote.person_id))).where(
    Vote.poll_id == Poll.id,
    Vote.option_id.in_(select(PollOption.id).where(
        PollOption.poll_id == Poll.id, PollOption.starts_at == bindparam("starts_at"))
        .correlate(Poll)))
    .scalar_subquery())
_DATE_POLL_COUNTS = (select(_VOTERS, _PICKED).where(
    Poll.chapter_id == bindparam("chapter"), Poll.meetup_id == bindparam("meetup"),
    Poll.kind == PollKind.DATE, Poll.closed_at.is_not(None)).order_by(Poll.id.desc()).limit(1))


async def date_poll_lines(w: Work, meetup: Meetup, language: str) -> list[str]:
    """E.g. ["Date picked by 3 of 4 voters"], counted over every platform's votes of the
    meetup's closed date poll; none when it had no poll, no voters, or its date is none of
    the poll's options (moved since)."""
    if meetup.starts_at is None:
        return []
    counts = (await w.s.execute(_DATE_POLL_COUNTS, {
        "chapter": meetup.chapter_id, "meetup": meetup.id, "starts_at": meetup.starts_at})).first()
    if counts is None:
        return []
    voters, picked = int(counts[0] or 0), int(counts[1] or 0)
    if not voters or not picked:
        return []
    _ = translator(language)
    return [_.n("Date picked by {k} of {n} voter", "Date picked by {k} of {n} voters", voters,
                k=picked)]
