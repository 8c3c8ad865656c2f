"""A big chapter: cancelling, announcing and answering take a bounded number of database queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from bot.core.messages import ChatRef, Inbound
from bot.db.session import Database
from tests.fakes import Chat
from tests.helpers import chapter, local


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def _crowd(chat: Chat, n: int) -> list[str]:
    names = [f"member{i}" for i in range(n)]
    for name in names:
        await chat.core.handle_message(Inbound(ChatRef(chat.messenger.platform, f"dm-{name}"),
                                               chat.user(name), "/start", True, False))
    chat.messenger.started.update(names)
    return names


async def test_cancelling_a_big_meetup_takes_a_bounded_number_of_queries(
        chat: Chat, db: Database) -> None:
    await chapter(chat)
    await chat.say("alice", f"/newmeetup T; {local(chat, timedelta(days=5))}")
    for name in await _crowd(chat, 60):
        await chat.say(name, "/rsvp yes")
    await chat.say("alice", "/cancel")
    with counting(db) as statements:
        out = await chat.say("alice", "/cancel yes")
    assert len([s for s in out if s.kind == "dm"]) == 60
    assert len(statements) < 30, f"{len(statements)} statements for one /cancel"


async def test_announcing_to_a_big_interest_list_takes_a_bounded_number_of_queries(
        chat: Chat, db: Database) -> None:
    await chapter(chat)
    for name in await _crowd(chat, 60):
        await chat.say(name, "/next")
    with counting(db) as statements:
        out = await chat.say("alice", f"/newmeetup T; {local(chat, timedelta(days=5))}")
    assert len([s for s in out if s.kind == "dm"]) == 60
    assert len(statements) < 30, f"{len(statements)} statements for one /newmeetup"


async def test_an_rsvp_does_not_read_the_chapters_whole_history(chat: Chat, db: Database) -> None:
    """Past meetups stay "scheduled" forever; /rsvp loaded every one of them to find the
    next. A weekly chapter has hundreds after a few years."""
    await chapter(chat)
    for week in range(1, 6):
        await chat.say("alice", f"/newmeetup W{week}; {local(chat, timedelta(days=7 * week))}")
    await chat.advance(timedelta(days=33))
    with counting(db) as statements:
        await chat.say("bob", "/rsvp yes")
    meetup_reads = [s for s in statements if "FROM meetups" in s]
    assert meetup_reads and all("starts_at >" in s or "starts_at IS NULL" in s
                                for s in meetup_reads if "status IN" in s)
