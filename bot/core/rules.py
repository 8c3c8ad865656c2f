"""Pure decisions: no database, no platform, no clock of their own."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

POLL_OPEN_FOR = timedelta(hours=48)
POLL_CLOSES_BEFORE_FIRST = timedelta(hours=24)
POLL_MIN_OPEN = timedelta(hours=1)


def poll_closes_at(now: datetime, first_option: datetime | None) -> datetime:
    """48 hours from now, and never later than 24 hours before the first option.

    When the first option is too close for that (under 25 hours away), the poll closes halfway
    between now and the first option, so people still get some time to vote.
    """
    closes = now + POLL_OPEN_FOR
    if first_option is None:
        return closes
    closes = min(closes, first_option - POLL_CLOSES_BEFORE_FIRST)
    if closes < now + POLL_MIN_OPEN:
        closes = now + (first_option - now) / 2
    return closes


@dataclass(frozen=True)
class Tally:
    option_id: int
    position: int
    starts_at: datetime | None
    votes: int


def pick_winner(tallies: Sequence[Tally]) -> Tally:
    """Most votes wins; a tie goes to the earliest date (or, without dates, the first option)."""
    if not tallies:
        raise ValueError("a poll without options has no winner")
    return min(
        tallies,
        key=lambda t: (-t.votes, t.starts_at is None, t.starts_at or datetime.max, t.position),
    )


def valid_choice(positions: Iterable[int], options: int, multiple: bool) -> tuple[int, ...] | None:
    """The options a vote names, each once and in order (none takes the vote back); None
    when it names an option the poll lacks, or several in a one-answer poll."""
    chosen = tuple(sorted(set(positions)))
    if any(p < 0 or p >= options for p in chosen) or (len(chosen) > 1 and not multiple):
        return None
    return chosen


def latest_choices(votes: Iterable[tuple[K, tuple[int, ...] | None]]) -> dict[K, tuple[int, ...]]:
    """Votes in the order they were cast, keyed by (poll, voter): the last valid one of each
    counts; an invalid one (None) changes nothing."""
    latest: dict[K, tuple[int, ...]] = {}
    for key, chosen in votes:
        if chosen is not None:
            latest[key] = chosen
    return latest


@dataclass(frozen=True)
class Party:
    rsvp_id: int
    size: int  # the person plus their guests


def takes_answers(scheduled: bool, starts_at: datetime | None, now: datetime) -> bool:
    """A meetup takes RSVPs while it is scheduled (not polling, not cancelled) and has not
    started yet: the one rule for the command, the buttons and the reactions."""
    return scheduled and starts_at is not None and starts_at > now


def fits(capacity: int | None, seats_taken: int, party_size: int) -> bool:
    return capacity is None or seats_taken + party_size <= capacity


def promotions(capacity: int | None, seats_taken: int, waitlist: Sequence[Party]) -> list[int]:
    """Who moves up from the waitlist, in order. A party that no longer fits is skipped, not
    split, and someone behind it who does fit moves up."""
    promoted: list[int] = []
    for party in waitlist:
        if fits(capacity, seats_taken, party.size):
            promoted.append(party.rsvp_id)
            seats_taken += party.size
    return promoted


def reminder_times(
    starts_at: datetime, offsets_minutes: Sequence[int], now: datetime
) -> list[tuple[int, datetime]]:
    """(offset, due time) for each offset whose time has not passed yet."""
    result = []
    for offset in sorted(set(offsets_minutes), reverse=True):
        due = starts_at - timedelta(minutes=offset)
        if due > now:
            result.append((offset, due))
    return result


# Joining two accounts of one person: which of their two answers for a meetup stays. A place
# on the waitlist is a "yes" without a seat yet, so it beats maybe and no.
_STRENGTH = {"yes": 3, "waitlist": 2, "maybe": 1, "no": 0}


@dataclass(frozen=True)
class Answer:
    status: str  # an RsvpStatus value
    guests: int
    waitlist_seq: int | None


def keeps_first(first: Answer, second: Answer) -> bool:
    """Whether `first` stays over `second`: yes > waitlist > maybe > no; of two yeses the
    bigger party, of two waitlist places the earlier one; a tie keeps the first."""
    if _STRENGTH[first.status] != _STRENGTH[second.status]:
        return _STRENGTH[first.status] > _STRENGTH[second.status]
    if first.status == "yes":
        return first.guests >= second.guests
    if first.status == "waitlist":
        return (first.waitlist_seq or 0) <= (second.waitlist_seq or 0)
    return True
