"""The combined outcome of a meetup's date poll, kept on its card: in a chapter spread over
Telegram and Matrix each native poll shows only its own platform's votes."""

from __future__ import annotations

from sqlalchemy import bindparam, distinct, func, select

from bot.core.i18n import translator
from bot.core.work import Work
from bot.db.models import Meetup, Poll, PollKind, PollOption, Vote

# Built once: every RSVP redraws the announcement, and with it this line.
_CLOSED_DATE_POLL = (select(Poll.id).where(
    Poll.chapter_id == bindparam("chapter"), Poll.meetup_id == bindparam("meetup"),
    Poll.kind == PollKind.DATE, Poll.closed_at.is_not(None)).order_by(Poll.id.desc()).limit(1))
_VOTERS = select(func.count(distinct(Vote.person_id))).where(Vote.poll_id == bindparam("poll"))
_PICKED = (select(func.count(distinct(Vote.person_id)))
           .join(PollOption, PollOption.id == Vote.option_id)
           .where(Vote.poll_id == bindparam("poll"),
                  PollOption.starts_at == bindparam("starts_at")))


async def date_poll_lines(w: Work, meetup: Meetup, language: str) -> list[str]:
    """E.g. ["Date picked by 3 of 4 voters"], counted over every platform's votes of the
    meetup's closed date poll; none when it had no poll, no voters, or its date is none of
    the poll's options (moved since)."""
    if meetup.starts_at is None:
        return []
    poll_id = await w.s.scalar(_CLOSED_DATE_POLL,
                               {"chapter": meetup.chapter_id, "meetup": meetup.id})
    if poll_id is None:
        return []
    voters = int(await w.s.scalar(_VOTERS, {"poll": poll_id}) or 0)
    picked = int(await w.s.scalar(_PICKED, {"poll": poll_id, "starts_at": meetup.starts_at})
                 or 0)
    if not voters or not picked:
        return []
    _ = translator(language)
    return [_.n("Date picked by {k} of {n} voter", "Date picked by {k} of {n} voters", voters,
                k=picked)]
