"""A lived-in network on PostgreSQL, written with set-based SQL (INSERT ... SELECT over
generate_series): chapters of very different sizes, people with accounts and memberships,
upcoming meetups with RSVPs, announcements and reminders, open date polls with votes, and
history (past meetups, closed polls, sent outbox rows, handled events, inbox updates).

Used by bench/scale.py and tests/core/test_hot_query_plans.py; imports nothing of the bot, so it
describes the schema as the migrations leave it. Everything is deterministic: the random
parts come from hashes of ids (`h(x, salt)`: 0..99)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

PLATFORM = "fake"  # tests.fakes.RecordingMessenger's


@dataclass(frozen=True)
class Sizes:
    chapters: int = 1000
    people: int = 100_000
    upcoming: int = 2000  # scheduled meetups still to come
    past_per_chapter: int = 6
    polls_every: int = 3  # every n-th chapter has an open date poll
    outbox: int = 200_000  # sent rows of the last week
    handled: int = 200_000  # handled event ids of the last week
    inbox: int = 100_000  # handled Telegram updates of the last week

    @classmethod
    def small(cls) -> Sizes:
        return cls(chapters=50, people=5000, upcoming=100, outbox=10_000, handled=10_000,
                   inbox=5000)


def chapter_sizes(chapters: int, people: int, skew: float = 0.9, least: int = 10) -> list[int]:
    """Members (by home chapter) of each chapter: a Zipf-like spread, the largest a few
    thousand, the smallest a few dozen; adds up to `people`."""
    weights = [1 / (i + 1) ** skew for i in range(chapters)]
    total = sum(weights)
    sizes = [max(least, int(people * w / total)) for w in weights]
    # Trim or pad the largest so the sizes add up exactly.
    sizes[0] += people - sum(sizes)
    assert sizes[0] >= least, "too few people for that many chapters"
    return sizes


# `h(x, salt)`: a stable pseudo-random 0..99 from an integer expression.
_H = "(abs(hashtext(({x})::text || '{salt}')) % 100)"


def h(x: str, salt: str) -> str:
    return _H.format(x=x, salt=salt)


def statements(sizes: Sizes, now: datetime) -> list[tuple[str, dict[str, object]]]:
    """The SQL that fills an empty, migrated database, in order; `now` naive UTC."""
    cs = chapter_sizes(sizes.chapters, sizes.people)
    firsts, first = [], 1
    for size in cs:
        firsts.append(first)
        first += size
    values = ", ".join(f"({c + 1}, {f}, {n})" for c, (f, n) in enumerate(zip(firsts, cs,
                                                                             strict=True)))
    p: dict[str, object] = {"now": now}
    upcoming_per = max(1, sizes.upcoming // sizes.chapters)
    extra_upcoming = sizes.upcoming - upcoming_per * sizes.chapters  # to the largest chapters
    sql: list[str] = [
        "CREATE TEMP TABLE seed_home (chapter_id int PRIMARY KEY, first int, size int)",
        f"INSERT INTO seed_home VALUES {values}",
        # Chapters: one group chat each; a quarter Dutch.
        f"""INSERT INTO chapters (id, name, city, timezone, language, created_at, slug)
            SELECT c, 'Chapter ' || c, 'City ' || c, 'Europe/Amsterdam',
                   CASE WHEN c % 4 = 0 THEN 'nl' ELSE 'en' END,
                   :now - interval '400 days', 'chapter-' || c
            FROM generate_series(1, {sizes.chapters}) c""",
        f"""INSERT INTO chat_bindings (chapter_id, platform, chat_id)
            SELECT c, '{PLATFORM}', 'chat' || c FROM generate_series(1, {sizes.chapters}) c""",
        f"""INSERT INTO people (id, display_name, created_at)
            SELECT p, 'Member ' || p, :now - (p % 365) * interval '1 day'
            FROM generate_series(1, {sizes.people}) p""",
        f"""INSERT INTO identities (person_id, platform, platform_user_id, display_name,
                                    dm_started, last_spoke_at)
            SELECT p, '{PLATFORM}', 'u' || p, 'Member ' || p, p % 2 = 0,
                   :now - (p % 30) * interval '1 day' - interval '1 hour'
            FROM generate_series(1, {sizes.people}) p""",
        # Home chapter of everyone; the first member set it up.
        """INSERT INTO memberships (chapter_id, person_id, is_organiser, organiser_reason,
                                    organiser_since, joined_at)
           SELECT s.chapter_id, p, p = s.first, CASE WHEN p = s.first THEN 'setup' END,
                  CASE WHEN p = s.first THEN :now - interval '400 days' END,
                  :now - (p % 300) * interval '1 day'
           FROM seed_home s, generate_series(s.first, s.first + s.size - 1) p""",
        # One in ten is also seen in a second chapter.
        f"""INSERT INTO memberships (chapter_id, person_id, is_organiser, joined_at)
            SELECT 1 + abs(hashtext(p::text || 'second')) % {sizes.chapters}, p, false,
                   :now - (p % 200) * interval '1 day'
            FROM generate_series(1, {sizes.people}) p WHERE p % 10 = 3
            ON CONFLICT DO NOTHING""",
        # Upcoming meetups: `upcoming_per` a chapter, the rest to the largest chapters; a
        # fifth of the first ones with a capacity.
        f"""INSERT INTO meetups (chapter_id, title, venue, starts_at, capacity, sequence, status,
                                 created_by, created_at)
            SELECT s.chapter_id, 'Meetup ' || s.chapter_id || '-' || k, 'Venue ' || k,
                   date_trunc('hour', :now) + ((s.chapter_id % 14) + 1 + 14 * (k - 1))
                       * interval '1 day' + interval '19 hours',
                   CASE WHEN k = 1 AND s.chapter_id % 5 = 0 THEN greatest(10, s.size / 5) END,
                   0, 'scheduled', s.first, :now - interval '10 days'
            FROM seed_home s, generate_series(1, {upcoming_per}) k""",
        f"""INSERT INTO meetups (chapter_id, title, venue, starts_at, sequence, status,
                                 created_by, created_at)
            SELECT s.chapter_id, 'Extra ' || s.chapter_id, 'Venue x',
                   date_trunc('hour', :now) + interval '45 days', 0, 'scheduled', s.first,
                   :now - interval '3 days'
            FROM seed_home s WHERE s.chapter_id <= {max(0, extra_upcoming)}""",
        # History: past meetups, one in ten cancelled.
        f"""INSERT INTO meetups (chapter_id, title, venue, starts_at, sequence, status,
                                 created_by, created_at)
            SELECT s.chapter_id, 'Past ' || s.chapter_id || '-' || k, 'Venue ' || k,
                   date_trunc('hour', :now) - (14 * k) * interval '1 day',
                   0, CASE WHEN k % 10 = 7 THEN 'cancelled' ELSE 'scheduled' END, s.first,
                   :now - (14 * k + 10) * interval '1 day'
            FROM seed_home s, generate_series(1, {sizes.past_per_chapter}) k""",
        # Date polls still open in every `polls_every`-th chapter, each for a meetup whose
        # date is being voted on.
        f"""INSERT INTO meetups (chapter_id, title, sequence, status, created_by, created_at)
            SELECT s.chapter_id, 'Polled ' || s.chapter_id, 0, 'polling', s.first,
                   :now - interval '1 day'
            FROM seed_home s WHERE s.chapter_id % {sizes.polls_every} = 0""",
        """INSERT INTO polls (chapter_id, meetup_id, question, kind, multiple, closes_at,
                              close_attempts, created_at)
           SELECT m.chapter_id, m.id, 'When?', 'date', true, :now + interval '3 days', 0,
                  :now - interval '1 day'
           FROM meetups m WHERE m.status = 'polling'""",
        # Closed plain polls: two a chapter.
        f"""INSERT INTO polls (chapter_id, question, kind, multiple, closes_at, closed_at,
                               close_attempts, created_at)
            SELECT c, 'Which venue? ' || k, 'plain', false,
                   :now - (30 * k) * interval '1 day', :now - (30 * k) * interval '1 day', 1,
                   :now - (30 * k + 2) * interval '1 day'
            FROM generate_series(1, {sizes.chapters}) c, generate_series(1, 2) k""",
        """INSERT INTO poll_options (poll_id, position, label, starts_at)
           SELECT pl.id, k, 'Option ' || (k + 1),
                  CASE WHEN pl.kind = 'date'
                       THEN date_trunc('day', :now) + (20 + 7 * k) * interval '1 day'
                            + interval '19 hours' END
           FROM polls pl, generate_series(0, 2) k""",
        # Votes: 30 % of an open poll's chapter, 20 % of a closed one's.
        """INSERT INTO votes (poll_id, option_id, person_id, voted_at)
           SELECT pl.id, o.id, mb.person_id, :now - interval '5 hours'
           FROM polls pl JOIN memberships mb ON mb.chapter_id = pl.chapter_id
           JOIN poll_options o ON o.poll_id = pl.id
                AND o.position = """ + h("mb.person_id + pl.id", "opt") + """ % 3
           WHERE """ + h("mb.person_id + pl.id", "vote") + """
                 < CASE WHEN pl.closed_at IS NULL THEN 30 ELSE 20 END""",
        # RSVPs: a quarter of a chapter answers its next meetup, one in ten the one after,
        # 15 % the past ones (yes 60 %, maybe 20 %, no 20 %).
        """CREATE TEMP TABLE seed_rank AS
           SELECT id, chapter_id, starts_at, status,
                  row_number() OVER (PARTITION BY chapter_id ORDER BY starts_at) AS k
           FROM meetups WHERE status = 'scheduled' AND starts_at > :now""",
        """INSERT INTO rsvps (meetup_id, person_id, status, guests, updated_at)
           SELECT m.id, mb.person_id,
                  CASE WHEN """ + h("mb.person_id + m.id", "ans") + """ < 60 THEN 'yes'
                       WHEN """ + h("mb.person_id + m.id", "ans") + """ < 80 THEN 'maybe'
                       ELSE 'no' END,
                  CASE WHEN """ + h("mb.person_id", "g") + """ < 5 THEN 1 ELSE 0 END,
                  :now - (mb.person_id % 72) * interval '1 hour'
           FROM seed_rank m JOIN memberships mb ON mb.chapter_id = m.chapter_id
           WHERE """ + h("mb.person_id + m.id", "rsvp") + """
                 < CASE WHEN m.k = 1 THEN 25 ELSE 10 END""",
        """INSERT INTO rsvps (meetup_id, person_id, status, guests, updated_at, checked_in_at)
           SELECT m.id, mb.person_id,
                  CASE WHEN """ + h("mb.person_id + m.id", "ans") + """ < 60 THEN 'yes'
                       WHEN """ + h("mb.person_id + m.id", "ans") + """ < 80 THEN 'maybe'
                       ELSE 'no' END, 0, m.starts_at - interval '2 days',
                  CASE WHEN """ + h("mb.person_id + m.id", "in") + """ < 30
                       THEN m.starts_at END
           FROM meetups m JOIN memberships mb ON mb.chapter_id = m.chapter_id
           WHERE m.starts_at < :now AND """ + h("mb.person_id + m.id", "rsvp") + """ < 15""",
        # Reminders: two DMs per yes to a coming meetup (24 h, 2 h before) and the chapter's
        # two (the day before, the follow-up); sent ones for the past.
        """INSERT INTO reminders (meetup_id, person_id, kind, offset_minutes, due_at, status,
                                  attempts)
           SELECT r.meetup_id, r.person_id, 'person', o,
                  m.starts_at - o * interval '1 minute',
                  CASE WHEN m.starts_at < :now THEN 'sent' ELSE 'pending' END,
                  CASE WHEN m.starts_at < :now THEN 1 ELSE 0 END
           FROM rsvps r JOIN meetups m ON m.id = r.meetup_id, unnest(ARRAY[1440, 120]) o
           WHERE r.status = 'yes' AND m.status = 'scheduled'""",
        """UPDATE reminders SET sent_at = due_at WHERE status = 'sent'""",
        """INSERT INTO reminders (meetup_id, person_id, kind, offset_minutes, due_at, status,
                                  attempts, sent_at)
           SELECT m.id, NULL, CASE WHEN o > 0 THEN 'group' ELSE 'follow_up' END, o,
                  m.starts_at - o * interval '1 minute',
                  CASE WHEN m.starts_at < :now THEN 'sent' ELSE 'pending' END,
                  CASE WHEN m.starts_at < :now THEN 1 ELSE 0 END,
                  CASE WHEN m.starts_at < :now THEN m.starts_at - o * interval '1 minute' END
           FROM meetups m, unnest(ARRAY[1440, -240]) o
           WHERE m.status = 'scheduled'""",
        """INSERT INTO calendar_sends (person_id, meetup_id, sequence, sent_at)
           SELECT DISTINCT person_id, meetup_id, 0, sent_at FROM reminders
           WHERE status = 'sent' AND person_id IS NOT NULL AND offset_minutes = 1440""",
        # What the bot posted: an announcement per meetup with a date, each poll.
        f"""INSERT INTO posted_messages (chapter_id, kind, meetup_id, platform, chat_id,
                                         message_id, created_at)
            SELECT m.chapter_id, 'announcement', m.id, '{PLATFORM}', 'chat' || m.chapter_id,
                   'a' || m.id, m.created_at
            FROM meetups m WHERE m.starts_at IS NOT NULL""",
        f"""INSERT INTO posted_messages (chapter_id, kind, poll_id, platform, chat_id,
                                         message_id, platform_poll_id, created_at)
            SELECT pl.chapter_id, 'poll', pl.id, '{PLATFORM}', 'chat' || pl.chapter_id,
                   'p' || pl.id, 'poll-' || pl.id, pl.created_at
            FROM polls pl""",
        # /next and /follow.
        """INSERT INTO interests (chapter_id, person_id, created_at)
           SELECT chapter_id, person_id, :now - interval '20 days' FROM memberships
           WHERE """ + h("person_id", "next") + """ < 5""",
        """INSERT INTO follows (chapter_id, person_id, created_at)
           SELECT chapter_id, person_id, :now - interval '50 days' FROM memberships
           WHERE """ + h("person_id", "follow") + """ < 2""",
        # The last week's traffic: outbox rows sent, event ids handled, inbox updates.
        f"""INSERT INTO outbox (kind, platform, chat_key, payload, status, attempts,
                                created_at, sent_at)
            SELECT CASE WHEN i % 3 = 0 THEN 'edit' ELSE 'text' END, '{PLATFORM}',
                   '{PLATFORM}:chat' || (1 + i % {sizes.chapters}),
                   '{{"chat": "chat' || (1 + i % {sizes.chapters}) || '", "text": "Member '
                       || i || ' is going to Meetup.", "buttons": []}}',
                   'sent', 1, :now - (i % 10080) * interval '1 minute',
                   :now - (i % 10080) * interval '1 minute' + interval '50 milliseconds'
            FROM generate_series(1, {sizes.outbox}) i""",
        """UPDATE outbox SET target_message_id = 'a' || (id % 5000) WHERE kind = 'edit'""",
        f"""INSERT INTO handled_messages (platform, chat_id, message_id, handled_at)
            SELECT '{PLATFORM}', 'chat' || (1 + i % {sizes.chapters}), 'old' || i,
                   :now - (i % 10080) * interval '1 minute'
            FROM generate_series(1, {sizes.handled}) i""",
        f"""INSERT INTO inbox (platform, update_id, payload, received_at, handled_at, attempts)
            SELECT 'telegram', i, '{{"update_id": ' || i || '}}',
                   :now - ({sizes.inbox} - i) * interval '5 seconds',
                   :now - ({sizes.inbox} - i) * interval '5 seconds', 0
            FROM generate_series(1, {sizes.inbox}) i""",
        # Sequences: the ids given explicitly above.
        "SELECT setval('chapters_id_seq', (SELECT max(id) FROM chapters))",
        "SELECT setval('people_id_seq', (SELECT max(id) FROM people))",
    ]
    # asyncpg takes a bare parameter's type from its context (`$1 - interval` is an interval).
    return [(s.replace(":now", "CAST(:now AS timestamp)"), p) for s in sql]


async def fill(engine: AsyncEngine, sizes: Sizes, now: datetime) -> None:
    """Write the network (`now`: naive UTC) in one transaction, then VACUUM ANALYZE, as
    autovacuum would have by now on a live database (without statistics the planner takes
    big tables for empty ones)."""
    async with engine.begin() as conn:
        for sql, params in statements(sizes, now):
            await conn.execute(text(sql), params)
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))
