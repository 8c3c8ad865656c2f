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


async def test_a_button_press_reads_the_presser_in_one_query_and_a_repeat_changes_nothing(
        chat: Chat, db: Database) -> None:
    """The presser, the chat's chapter and their membership come in one query, as for a
    command, the meetup and its row lock in another; the same answer again rewrites no
    reminder and edits no announcement."""
    await chapter(chat)
    await chat.say("alice", f"/newmeetup T; {local(chat, timedelta(days=5))}")
    yes = next(s for s in chat.messenger.sent if s.buttons).buttons[0].payload
    await chat.dm("bob", "/start")
    await chat.say("bob", "/rsvp no")  # a member who answered before
    with counting(db) as first:
        assert (await chat.press("bob", yes)).accepted
    with counting(db) as again:
        assert (await chat.press("bob", yes)).accepted
    print(f"\n{len(first)} statements for a press, {len(again)} for the same press again")
    assert len([s for s in first if "FROM identities" in s]) == 1
    assert not [s for s in first if s.startswith("SELECT chapters.") or "FROM memberships" in s]
    assert len(first) <= 12 and len(again) <= 5
    assert not [s for s in again if s.startswith(("INSERT INTO reminders", "DELETE FROM reminders"))
                or "posted_messages" in s]


async def test_an_answer_for_a_meetup_whose_date_was_polled_counts_the_poll_in_one_query(
        chat: Chat, db: Database) -> None:
    """The card keeps "Date picked by k of n voters" and every answer redraws it: the closed
    poll, its voters and those who picked the date come in one query."""
    await chapter(chat)
    first, second = local(chat, timedelta(days=3)), local(chat, timedelta(days=4))
    await chat.say("alice", f"/newmeetup Borrel; {first} | {second}")
    await chat.say("bob", "/vote 1")
    await chat.say("carol", "/vote 1 2")
    await chat.advance(timedelta(hours=49))
    start = len(chat.messenger.sent)
    with counting(db) as statements:
        await chat.say("bob", "/rsvp yes")
    edits = [s for s in chat.messenger.sent[start:] if s.kind == "edit"]
    assert edits and "Date picked by 2 of 2 voters" in edits[-1].text.splitlines()
    assert len([s for s in statements if "FROM polls" in s]) == 1, statements
    assert not [s for s in statements if "FROM votes" in s and "FROM polls" not in s]
    assert len([s for s in statements if "FROM meetups" in s]) == 1, statements


async def test_a_member_with_one_account_writes_nothing_for_where_they_spoke(
        chat: Chat, db: Database) -> None:
    """Where someone spoke last only chooses between their platforms (their DMs go there):
    a member with one account costs no write for it, however long since they last spoke."""
    await chapter(chat)
    await chat.say("bob", "/help")
    await chat.advance(timedelta(hours=2))
    with counting(db) as statements:
        await chat.say("bob", "/meetups")
    assert not [s for s in statements if s.startswith("UPDATE identities")], statements
