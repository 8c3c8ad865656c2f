"""What the core runs on every RSVP, every vote and every housekeeping batch finds its rows
through an index: no statement reads a whole table (EXPLAIN on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event

from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.messages import RsvpAnswer
from bot.core.settings import CoreSettings
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter, local

# Small tables scanned on purpose: a chapter has a handful of meetups (the housekeeping's
# "meetups that are over" reads them through ix_meetups_chapter_status_start).
ALLOWED = ("SCAN meetups USING COVERING INDEX",)


def full_scans(dialect: str, plan: list[str]) -> list[str]:
    if dialect == "sqlite":
        return [line for line in plan if line.startswith("SCAN") and "USING" not in line
                and "CONSTANT" not in line]
    return [line for line in plan if "Seq Scan" in line]


async def test_the_rsvp_path_votes_and_housekeeping_use_indexes(
        db: Database, clock: VirtualClock) -> None:
    messenger = RecordingMessenger(started={f"u{i}" for i in range(30)})
    core = Core(db, {messenger.platform: messenger}, clock, CoreSettings())
    chat = Chat(core, messenger, clock)
    await chapter(chat)
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=5))}; Café; max 10")
    for i in range(12):
        await chat.say(f"u{i}", "/rsvp yes")
    announcement = next(s for s in messenger.sent if s.buttons)
    statements: dict[str, Any] = {}

    def grab(conn: object, cursor: object, statement: str, parameters: Any, context: object,
             executemany: bool) -> None:
        if statement.lstrip().split()[0].upper() in ("SELECT", "UPDATE", "DELETE"):
            # An executemany (outbox rows marked sent together) is explained for its first row;
            # asyncpg reports one with executemany false and the rows as a list.
            many = executemany or isinstance(parameters, list)
            statements.setdefault(statement, parameters[0] if many else parameters)

    event.listen(db.engine.sync_engine, "before_cursor_execute", grab)
    try:
        await chat.say("u20", "/rsvp yes")  # a command, waitlisted
        await chat.say("u3", "/rsvp no")  # a seat opens: promotion, DM
        await chat.press("u21", announcement.buttons[0].payload)  # a button
        await chat.react("u22", announcement.message_id, RsvpAnswer.MAYBE)  # a reaction
        await chat.say("alice", "/poll Which venue?; A | B")
        poll = next(s for s in messenger.sent if s.kind == "poll")
        await chat.answer_poll("u5", f"poll-{poll.message_id}", [0])  # a native vote
        await core.next_due_at()
        clock.advance(timedelta(days=40))
        await core.run_due()  # the poll closes, reminders go out
        await core.prune()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", grab)

    scanned = {}
    async with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            await conn.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: use an index
        for statement, parameters in statements.items():
            prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
            rows = (await conn.exec_driver_sql(prefix + statement, parameters)).all()
            plan = [str(row[-1] if db.dialect == "sqlite" else row[0]) for row in rows]
            scans = [s for s in full_scans(db.dialect, plan) if not s.startswith(ALLOWED)]
            if scans:
                scanned[" ".join(statement.split())[:160]] = scans
    print(f"\n{db.dialect}: {len(statements)} distinct statements explained, "
          f"{len(scanned)} read a whole table")
    assert len(statements) > 30
    assert scanned == {}
