"""The database gone for a few seconds: members' votes and answers wait and then count, and no
one is told that nothing changed about something that did; two first actions of a new member
at once make one person."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.messages import Inbound, PollAnswer
from bot.core.settings import CoreSettings
from bot.db.models import Identity, Person, Rsvp, RsvpStatus, Vote
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter, local
from tests.tcp_relay import TcpRelay

VOTERS = [f"voter{i}" for i in range(10)]
GOERS = [f"goer{i}" for i in range(10)]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_five_seconds_without_the_database_lose_no_vote_and_no_answer(
        db_url: str, db: Database, clock: VirtualClock) -> None:
    host_port = db_url.rsplit("@", 1)[1].split("/", 1)[0]
    relay = TcpRelay(int(host_port.rsplit(":", 1)[1]))
    await relay.start()
    cut_db = Database(db_url.replace(host_port, f"127.0.0.1:{relay.port}"))
    messenger = RecordingMessenger()
    core = Core(cut_db, {messenger.platform: messenger}, clock, CoreSettings())
    chat = Chat(core, messenger, clock)
    try:
        await chapter(chat)
        await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=5))}")
        await chat.say("alice", "/poll Which venue?; Verkadefabriek | Café de Unie")
        poll = next(s for s in messenger.sent if s.kind == "poll")
        for name in VOTERS + GOERS:
            await chat.say(name, "/help")  # known members before the cut
        messenger.take()

        await relay.cut()
        acts = [chat.say(name, "/rsvp yes") for name in GOERS]
        acts += [core.handle_poll_answer(PollAnswer(messenger.platform, f"poll-{poll.message_id}",
                                                    chat.user(name), (i % 2,), f"answer-{i}"))
                 for i, name in enumerate(VOTERS)]
        running = asyncio.gather(*acts)
        await asyncio.sleep(5)
        await relay.start()
        await asyncio.wait_for(running, 60)
    finally:
        await relay.cut()
        await cut_db.dispose()

    async with db.transaction() as s:
        going = await s.scalar(select(func.count()).select_from(Rsvp).where(
            Rsvp.status == RsvpStatus.YES))
        votes = await s.scalar(select(func.count()).select_from(Vote))
    assert (going, votes) == (len(GOERS), len(VOTERS))
    texts = [s.text for s in messenger.sent if s.kind == "text"]
    assert not [t for t in texts if "nothing was changed" in t or "can't reach" in t]
    assert sorted(t.split(" is going")[0] for t in texts if " is going to Borrel" in t) == \
        sorted(name.capitalize() for name in GOERS)


async def test_a_new_members_first_two_actions_at_once_make_one_person(
        chat: Chat, db: Database) -> None:
    await chapter(chat)
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=5))}")
    newbie = chat.user("newbie")
    await asyncio.gather(
        chat.core.handle_message(Inbound(chat.chat, newbie, "/rsvp yes", message_id="m1")),
        chat.core.handle_message(Inbound(chat.chat, newbie, "/who", message_id="m2")))
    async with db.transaction() as s:
        people = await s.scalar(select(func.count()).select_from(Identity).where(
            Identity.platform_user_id == "newbie"))
        named = await s.scalar(select(func.count()).select_from(Person).where(
            Person.display_name == "Newbie"))
    assert (people, named) == (1, 1)
    assert any("Newbie is going to Borrel" in s.text for s in chat.messenger.sent)


def test_a_connection_closed_mid_statement_counts_as_the_database_being_away() -> None:
    """asyncpg reports a socket closed during a statement as a plain DBAPIError that is not
    always flagged invalidated (it depends on whether the driver noticed first). A member's
    answer caught by one must wait for the database like any other, not be refused."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError, IntegrityError

    from bot.db.session import database_unreachable

    class DriverError(Exception):  # what SQLAlchemy's asyncpg adapter wraps the error in
        pass

    lost = DriverError("connection was closed in the middle of operation")
    lost.__cause__ = asyncpg.exceptions.ConnectionDoesNotExistError(
        "connection was closed in the middle of operation")
    assert database_unreachable(DBAPIError("COMMIT", None, lost, connection_invalidated=False))
    shutting_down = asyncpg.exceptions.AdminShutdownError("terminating connection")
    assert database_unreachable(DBAPIError("SELECT 1", None, shutting_down))
    duplicate = asyncpg.exceptions.UniqueViolationError("duplicate key")
    assert not database_unreachable(IntegrityError("INSERT", None, duplicate))
    assert not database_unreachable(ValueError("a bug"))


async def test_a_press_whose_commit_answer_was_lost_is_answered_once_with_its_toast(
        chat: Chat, messenger: RecordingMessenger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commit of a button press went through, but the database's answer was lost on the
    way back. The core tries again, finds the press handled, and still shows the toast the
    first try made (the press was never answered). A platform delivering the same press
    again later gets no second answer: the first was given."""
    import contextlib
    from collections.abc import AsyncIterator

    from sqlalchemy.exc import OperationalError
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.messages import RsvpAction
    from bot.db.models import Meetup

    await chapter(chat)
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
    async with chat.core.db.transaction() as s:
        meetup_id = await s.scalar(select(Meetup.id))
    db = chat.core.db
    real = db.transaction
    lose_next = [True]

    @contextlib.asynccontextmanager
    async def answer_lost() -> AsyncIterator[AsyncSession]:
        async with real() as s:
            yield s
        if lose_next and lose_next.pop():
            raise OperationalError("COMMIT", None, ConnectionResetError("answer lost"))

    monkeypatch.setattr(db, "transaction", answer_lost)
    press = RsvpAction(chat.chat, chat.user("bob"), f"rsvp:{meetup_id}:yes", False,
                       event_id="query-1")
    reply = await chat.core.handle_rsvp_action(press)
    assert (reply.text, reply.accepted) == ("Bob is going to Borrel.", True)
    async with real() as s:
        assert await s.scalar(select(func.count()).select_from(Rsvp)) == 1
    again = await chat.core.handle_rsvp_action(press)  # delivered again after a restart
    assert (again.text, again.accepted) == ("", True)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_after_the_servers_connections_were_dropped_the_next_command_is_answered(
        db_url: str, chat: Chat, db: Database, messenger: RecordingMessenger,
        caplog: pytest.LogCaptureFixture) -> None:
    """Every pooled connection ended by the server (as by a restart or a failover): the next
    member's command is answered on a new connection at once, with no "the database can't be
    reached" and no try again: the ping before each use of a pooled connection sees the dead
    one (bot/db/session.py)."""
    from tests.conftest import _pg_execute

    await chapter(chat)
    await chat.say("alice", "/meetups")
    opened = []
    event.listen(db.engine.sync_engine, "connect", lambda *_args: opened.append(1))
    name = db_url.rsplit("/", 1)[1]
    await _pg_execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
    messenger.take()

    replies = await chat.say("bob", "/meetups")

    assert [r.text for r in replies] == ["No meetups planned. Send /next to hear when one is."]
    assert opened, "no new connection was opened"
    assert "can't be reached" not in caplog.text, caplog.text
