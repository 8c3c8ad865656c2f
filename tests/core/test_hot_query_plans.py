"""The hot paths on a lived-in network (PostgreSQL, tests/network.py): no statement the core
(or the Telegram inbox) issues for an RSVP, a vote, /who, /meetups, /next, a reminder batch,
the outbox deliverer's claims or the inbox reads a table that grows with the network from end
to end (issue 14: "no query may scan a table that grows with the network").

Every statement is captured as it is sent (`before_cursor_execute`) and explained with its own
parameters, on a database seeded with chapters of very different sizes and ANALYZEd, with
`enable_seqscan = off` (so a small table doesn't hide a missing index): a `Seq Scan` of a
growing table fails, and so does an index scan of one without an index condition (a whole
index read in order, e.g. for an ORDER BY ... LIMIT)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.adapters.telegram.inbox import Inbox
from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.messages import ChatRef, Inbound, PollAnswer, RsvpAction, UserRef
from bot.core.settings import CoreSettings
from bot.db.session import Database
from tests.fakes import RecordingMessenger
from tests.network import PLATFORM, Sizes, fill

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)

# Tables whose rows grow with the network: members, their answers and what the bot did.
GROWING = {
    "people", "identities", "memberships", "account_codes", "chat_admins", "confirmations",
    "meetups", "polls", "poll_options", "votes", "rsvps", "reminders", "posted_messages",
    "interests", "follows", "calendar_sends", "dm_hints", "handled_messages", "outbox",
    "inbox", "calendar_tokens", "walls", "wall_posts", "wall_bans",
    # One row a chapter (or chat): grows with the network too, if slower.
    "chapters", "chat_bindings",
}

# Known, and reported (issue 14): /who joins a meetup's RSVPs to people. For a meetup with
# thousands of answers PostgreSQL hashes the join and reads all of `people` (measured on the
# 100,000-member network of bench/scale.py: 2,521 RSVPs, Seq Scan on people, 34 ms); with
# seq scans off it reads pk_people whole for a merge join. No index changes that choice; the
# query itself has to (fetch the people by id, or page the list).
KNOWN = {
    "FROM rsvps JOIN people ON people.id = rsvps.person_id WHERE rsvps.meetup_id":
        "/who: every answer's person (see above)",
}

SIZES = Sizes(chapters=60, people=6000, upcoming=120, outbox=6000, handled=6000, inbox=3000)


def scans(node: dict[str, Any]) -> Iterator[str]:
    """The nodes of a JSON plan that read a growing table without an index condition."""
    relation = node.get("Relation Name")
    kind = node.get("Node Type", "")
    if relation in GROWING:
        if kind == "Seq Scan":
            yield f"Seq Scan on {relation}"
        elif kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node:
            yield f"{kind} using {node.get('Index Name')} on {relation} without a condition"
    for child in node.get("Plans", []):
        yield from scans(child)


async def test_hot_commands_use_indexes_on_a_seeded_network(db: Database) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    await fill(db.engine, SIZES, now.replace(tzinfo=None))
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT m.chapter_id, count(*) n, min(m.person_id) FROM memberships m "
            "GROUP BY m.chapter_id ORDER BY n DESC"))).all()
        polled = set((await conn.execute(text(
            "SELECT chapter_id FROM polls WHERE closed_at IS NULL"))).scalars())
        capped = set((await conn.execute(text(
            "SELECT chapter_id FROM meetups WHERE capacity IS NOT NULL"))).scalars())
        nxt = dict((await conn.execute(text(
            "SELECT DISTINCT ON (chapter_id) chapter_id, id FROM meetups "
            "WHERE status = 'scheduled' AND starts_at > :now ORDER BY chapter_id, starts_at"),
            {"now": now.replace(tzinfo=None)})).all())
        first_start = (await conn.execute(text(
            "SELECT min(starts_at) FROM meetups WHERE starts_at > :now"),
            {"now": now.replace(tzinfo=None)})).scalar_one()
    # The largest chapter, a middling one, one with an open poll, one with a capped meetup.
    biggest = rows[0][0]
    middling = rows[len(rows) // 2][0]
    with_poll = next(c for c, _n, _p in rows if c in polled)
    with_cap = next(c for c, _n, _p in rows if c in capped)
    members = {c: p for c, _n, p in rows}

    clock = VirtualClock(now)
    messenger = RecordingMessenger(started={f"u{i}" for i in range(1, SIZES.people + 1)})
    core = Core(db, {messenger.platform: messenger}, clock, CoreSettings())
    inbox = Inbox(db)
    ids = iter(range(1, 10**6))

    def user(chapter: int, k: int) -> UserRef:
        person = members[chapter] + k  # the chapter's k-th member (seeded consecutively)
        return UserRef(PLATFORM, f"u{person}", f"Member {person}")

    def chat(chapter: int) -> ChatRef:
        return ChatRef(PLATFORM, f"chat{chapter}")

    async def say(chapter: int, k: int, said: str) -> None:
        await core.handle_message(Inbound(chat(chapter), user(chapter, k), said, False, False,
                                          f"e{next(ids)}"))

    statements: dict[str, Any] = {}

    def grab(conn: object, cursor: object, statement: str, parameters: Any, context: object,
             executemany: bool) -> None:
        if statement.lstrip().split()[0].upper() in ("SELECT", "UPDATE", "DELETE", "WITH"):
            many = executemany or isinstance(parameters, list)
            statements.setdefault(statement, parameters[0] if many else parameters)

    event.listen(db.engine.sync_engine, "before_cursor_execute", grab)
    try:
        for chapter in (biggest, middling, with_poll, with_cap):
            for k, said in enumerate(["/rsvp yes", "/rsvp maybe", "/rsvp no", "/rsvp yes +1",
                                      "/who", "/meetups", "/next"]):
                await say(chapter, k + 1, said)
            await core.handle_rsvp_action(RsvpAction(
                chat(chapter), user(chapter, 9), f"rsvp:{nxt[chapter]}:yes", False,
                f"b{next(ids)}"))
            await core.handle_rsvp_action(RsvpAction(
                chat(chapter), user(chapter, 2), f"rsvp:{nxt[chapter]}:no", False,
                f"b{next(ids)}"))
        # A capped meetup filled up: the waitlist, then a seat opening (promotion, DM).
        for k in range(10, 60):
            await say(with_cap, k, "/rsvp yes")
        await say(with_cap, 10, "/rsvp no")
        # Votes: /vote, a native answer (its event id recorded), answers from the inbox.
        ppid = f"poll-{(await _open_poll(db, with_poll))}"
        await say(with_poll, 3, "/vote 2")
        await core.handle_poll_answers([PollAnswer(PLATFORM, ppid, user(with_poll, 4), (1,),
                                                   f"v{next(ids)}")])
        stored = await inbox.store([(10**9 + i, json.dumps({"update_id": 10**9 + i}))
                                    for i in range(3)])
        await core.handle_poll_answers(
            [PollAnswer(PLATFORM, ppid, user(with_poll, 5 + i), (0,), str(uid))
             for i, uid in enumerate(sorted(stored))], "telegram")
        for uid in sorted(stored):
            inbox.handled(uid)
        await inbox.flush()
        await inbox.unhandled()
        extra = sorted(await inbox.store([(10**9 + 10, "{}")]))
        await inbox.failed_once(extra[0])
        await inbox.give_up(extra[0])
        # A reminder batch: the day-before reminders of the first meetups fall due; the
        # outbox deliverer sweeps for rows left behind first.
        await core.next_due_at()
        clock.set(first_start.replace(tzinfo=UTC) - timedelta(hours=23, minutes=59))
        await core.run_due()
        await core.next_due_at()
        await core.resume()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", grab)

    scanned: dict[str, list[str]] = {}
    known: list[str] = []
    async with db.engine.connect() as conn:
        await conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements.items():
            row = (await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement,
                                              parameters)).scalar_one()
            plan = row if isinstance(row, list) else json.loads(row)
            found = list(scans(plan[0]["Plan"]))
            flat = " ".join(statement.split())
            if found and not any(k in flat for k in KNOWN):
                scanned[flat[:200]] = found
            elif found:
                known.append(f"{flat[:120]}: {found}")
    print(f"\n{len(statements)} distinct statements explained, {len(scanned)} read a growing "
          "table whole:\n" + "\n".join(f"  {s}\n    {v}" for s, v in scanned.items())
          + "\nknown:\n" + "\n".join(f"  {k}" for k in known))
    assert len(statements) > 60
    assert scanned == {}


async def _open_poll(db: Database, chapter: int) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text(
            "SELECT id FROM polls WHERE chapter_id = :c AND closed_at IS NULL"),
            {"c": chapter})).scalar_one())
