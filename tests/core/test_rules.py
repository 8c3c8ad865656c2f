"""Properties of the pure decisions and of reading dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.dates import parse_offsets, parse_when
from bot.core.rules import Party, Tally, pick_winner, poll_closes_at, promotions

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

parties = st.lists(st.integers(min_value=1, max_value=6), max_size=12)


@given(capacity=st.integers(min_value=1, max_value=20), taken=st.integers(0, 20), sizes=parties)
def test_promotion_never_overfills_and_skips_only_parties_that_do_not_fit(
        capacity: int, taken: int, sizes: list[int]) -> None:
    taken = min(taken, capacity)
    waitlist = [Party(i, size) for i, size in enumerate(sizes)]
    chosen = promotions(capacity, taken, waitlist)
    assert taken + sum(sizes[i] for i in chosen) <= capacity
    assert chosen == sorted(chosen)  # in waitlist order
    seats = taken
    for party in waitlist:  # a skipped party did not fit at its turn
        if party.rsvp_id in chosen:
            seats += party.size
        else:
            assert seats + party.size > capacity


@given(votes=st.lists(st.integers(0, 5), min_size=1, max_size=10))
def test_the_winner_has_most_votes_and_ties_go_to_the_earliest_date(votes: list[int]) -> None:
    # Options are posted in date order, but the rule must not rely on it: shuffle the dates.
    dates = [NOW + timedelta(days=10 - i) for i in range(len(votes))]
    tallies = [Tally(i, i, dates[i], v) for i, v in enumerate(votes)]
    winner = pick_winner(tallies)
    assert winner.votes == max(votes)
    assert winner.starts_at == min(t.starts_at for t in tallies if t.votes == max(votes))


@given(hours=st.integers(min_value=1, max_value=24 * 60))
def test_a_poll_closes_within_48h_and_before_its_first_option(hours: int) -> None:
    first = NOW + timedelta(hours=hours)
    closes = poll_closes_at(NOW, first)
    assert NOW < closes < first
    assert closes <= NOW + timedelta(hours=48)
    if hours >= 25:
        assert closes <= first - timedelta(hours=24)


@settings(max_examples=40, deadline=None)
@given(minutes=st.integers(min_value=10, max_value=2 * 365 * 24 * 60),
       tz=st.sampled_from(["Europe/Amsterdam", "America/New_York", "Asia/Tokyo"]),
       language=st.sampled_from(["en", "nl"]))
def test_an_iso_date_reads_back_as_the_same_moment(minutes: int, tz: str, language: str) -> None:
    local = (NOW + timedelta(minutes=minutes)).astimezone(ZoneInfo(tz)).replace(second=0,
                                                                               microsecond=0)
    text = local.strftime("%Y-%m-%d %H:%M")
    when = parse_when(text, timezone=tz, language=language, now=NOW)
    assert when.at == local.astimezone(UTC)


@given(st.lists(st.integers(1, 30 * 24 * 60), min_size=1, max_size=5, unique=True))
def test_reminder_offsets_round_trip(minutes: list[int]) -> None:
    text = " ".join(f"{m // 1440}d{m % 1440 // 60}h{m % 60}m" for m in minutes)
    assert parse_offsets(text) == sorted(minutes, reverse=True)


def test_dutch_and_english_dates_in_the_chapter_timezone() -> None:
    tz = "Europe/Amsterdam"  # NOW is Thursday 26 Nov 2026, 13:00 in Amsterdam
    cases = {
        ("nl", "vrijdag 20:00"): datetime(2026, 11, 27, 19, 0, tzinfo=UTC),
        ("nl", "volgende vrijdag 20:00"): datetime(2026, 11, 27, 19, 0, tzinfo=UTC),
        ("nl", "12 maart 19:00"): datetime(2027, 3, 12, 18, 0, tzinfo=UTC),
        ("nl", "morgen 19u30"): datetime(2026, 11, 27, 18, 30, tzinfo=UTC),
        ("en", "next thursday 7:30pm"): datetime(2026, 12, 3, 18, 30, tzinfo=UTC),
        ("en", "2027-03-12 19:00"): datetime(2027, 3, 12, 18, 0, tzinfo=UTC),
    }
    for (language, text), expected in cases.items():
        assert parse_when(text, timezone=tz, language=language, now=NOW).at == expected, text
