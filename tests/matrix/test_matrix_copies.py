"""Issue 9: a Telegram-only copy and a Matrix-only copy of `irlbot run` on one PostgreSQL, with a
chapter linked across a Telegram group and a Matrix room. Polls, the announcement, the group
reminder and the reminder DMs reach both platforms, and nothing is marked failed.

Real processes: one against the project's fake Bot API, one against the session's real
Synapse. Each copy sends only its own platform's rows; the other's wait in the outbox for the
copy that serves them (its sweep, every second here).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.adapters.matrix.content import POLL_START
from bot.db.models import Reminder, ReminderKind, ReminderStatus
from bot.db.session import Database
from tests.matrix.conftest import MakeMember
from tests.matrix.mx_helpers import is_text_from, room_with_bot
from tests.matrix.mx_process import (
    bot_section,
    command,
    matrix_section,
    open_dm,
    rows,
    scalar,
    terminate,
    wait_until,
    when,
    write_config,
)
from tests.matrix.mx_synapse import SynapseServer
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_support import BotProcess


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as api:
        yield api


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_telegram_only_and_matrix_only_copies_serve_a_chapter_linked_across_both(
        synapse: SynapseServer, make_member: MakeMember, fake: FakeBotAPI, db_url: str,
        database: Database, tmp_path: Path) -> None:
    started = time.monotonic()

    def at(what: str) -> None:
        print(f"---- {time.monotonic() - started:5.1f} s: {what}")

    account = synapse.register(synapse.unique("bot"), displayname="IRL bot")
    bot_id = account.user_id
    tg_copy = BotProcess(write_config(
        tmp_path / "telegram.toml", db_url, bot_section(),
        f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\n'),
        tmp_path / "telegram.log")
    mx_copy = BotProcess(write_config(tmp_path / "matrix.toml", db_url, bot_section(),
                                      matrix_section(synapse, account)), tmp_path / "matrix.log")

    alice = fake.add_user("Alice", started=True, language_code="en")  # organiser, Telegram
    bob = fake.add_user("Bob", started=True, language_code="en")  # member, Telegram
    group = fake.add_group("SMC Den Bosch", members=[bob], admins=[alice])
    carol, dave = await make_member("carol"), await make_member("dave")  # admin, member: Matrix
    try:
        await tg_copy.start()
        await mx_copy.start()
        room = await room_with_bot(carol, bot_id, dave)
        dave_dm = await open_dm(dave, bot_id)
        at("both copies up; Dave has a DM room with the bot")

        # The chapter, in the Telegram group, linked to the Matrix room.
        fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
        await fake.wait_for(lambda: any("now the chapter" in t for t in fake.texts(group)),
                            within=30, what="the /setup answer")
        fake.start_bot(alice)  # the code comes by DM
        # Back in the group once the bot has said hello (handled side by side, a /link sent
        # at the same moment as the Start may be read before it).
        await fake.wait_for(lambda: bool(fake.texts(alice.id)), within=30, what="the welcome")
        fake.user_sends(alice, group, "/link")
        await fake.wait_for(lambda: any("/link " in t for t in fake.texts(alice.id)),
                            within=30, what="the link code")
        code = re.search(r"/link (\w+)", next(t for t in fake.texts(alice.id) if "/link " in t))
        assert code is not None
        await command(carol, room, bot_id, f"!link {code.group(1)}", "is now part of")
        at(f"linked with code {code.group(1)}")

        # A date poll from Telegram shows in both.
        fake.user_sends(alice, group, f"/newmeetup Borrel; {when(3)} | {when(4)}; Café de Unie")
        await fake.wait_for(lambda: any(m.poll for m in fake.bot_messages(group)),
                            within=30, what="the date poll on Telegram")
        _, poll = await carol.wait_for(lambda r, e: r == room and e.get("type") == POLL_START,
                                       within=30)
        assert len(poll["content"][POLL_START]["answers"]) == 2
        at("the poll is in both")

        # Closed from Telegram: the result and the announcement in both.
        fake.user_sends(alice, group, "/closepoll")
        await fake.wait_for(lambda: any(any(label == "✅ Going" for label, _ in m.buttons)
                                        for m in fake.bot_messages(group)),
                            within=30, what="the announcement on Telegram")
        tg_announcement = next(m for m in fake.bot_messages(group)
                               if any(label == "✅ Going" for label, _ in m.buttons))
        _, mx_announcement = await carol.wait_for(
            is_text_from(bot_id, room, "Borrel is on"), within=30)
        at("the announcement is in both")

        # One member on each platform says yes.
        fake.press(bob, tg_announcement, "✅ Going")
        await dave.react(room, mx_announcement["event_id"], "✅")

        async def both_yes() -> bool:
            return await scalar(database, "SELECT count(*) FROM rsvps "
                                          "WHERE status = 'yes'") == 2

        await wait_until(both_yes, 30, "Bob and Dave saying yes")
        # The head count is shared: each platform's announcement shows both.
        await fake.wait_for(lambda: "2 going" in tg_announcement.text, within=30,
                            what="the Telegram announcement to count both")
        await carol.wait_for(is_text_from(bot_id, room, "2 going"), within=30)
        reminders = await rows(database, "SELECT id, kind, person_id, status FROM reminders")
        print(f"---- reminders: {reminders}")
        kinds = Counter(kind for _id, kind, _p, _s in reminders)
        assert (kinds["person"], kinds["group"]) == (2, 1), kinds  # and a follow-up, later

        # Due now (as if two days passed): each copy's sweep finds them.
        async with database.transaction() as s:
            await s.execute(update(Reminder).where(
                Reminder.status == ReminderStatus.PENDING,
                Reminder.kind.in_([ReminderKind.PERSON, ReminderKind.GROUP]))
                .values(due_at=datetime.now(UTC) - timedelta(minutes=1)))
        tomorrow = "Tomorrow: Borrel"
        def to_bob() -> list[str]:  # the reminder is a document (the .ics) with a caption
            return [m.text for m in fake.bot_messages(bob.id)]

        await fake.wait_for(lambda: any("Reminder: Borrel" in t for t in to_bob()),
                            within=30, what="Bob's reminder DM on Telegram")
        await fake.wait_for(lambda: any(tomorrow in t for t in fake.texts(group)),
                            within=30, what="the group reminder on Telegram")
        await dave.wait_for(is_text_from(bot_id, dave_dm, "Reminder: Borrel"), within=30)
        await carol.wait_for(is_text_from(bot_id, room, tomorrow), within=30)
        at("the reminders are in both")

        async def settled() -> bool:
            return await scalar(database, "SELECT count(*) FROM outbox WHERE status = 'pending'"
                                ) == 0 and await scalar(
                database, "SELECT count(*) FROM reminders WHERE kind IN ('person', 'group') "
                          "AND status IN ('pending', 'queued')") == 0

        await wait_until(settled, 30, "the outbox and the reminders to settle")
        await asyncio.sleep(2.5)  # past a send lease: a second copy of anything would be out

        outbox = Counter(map(tuple, await rows(database, "SELECT platform, kind, status "
                                                         "FROM outbox")))
        statuses = Counter(map(tuple, await rows(database, "SELECT kind, status "
                                                           "FROM reminders")))
        print(f"---- outbox (platform, kind, status): {sorted(outbox.items())}")
        print(f"---- reminders (kind, status): {sorted(statuses.items())}")
        counts = {
            "telegram group: polls": sum(1 for m in fake.bot_messages(group) if m.poll),
            # Posted (its text is edited later, the counts under it, so read the requests; on a
            # loaded machine PTB may repeat a request whose answer timed out: that is the
            # adapter's retry, not a second outbox row, which the outbox counts above rule out).
            "telegram group: Borrel is on": min(1, sum(
                "Borrel is on" in str(r.params.get("text", "")) for r in fake.calls("sendMessage")
                if r.status == 200 and r.chat_id == group.id)),
            "telegram group: Tomorrow": sum(tomorrow in t for t in fake.texts(group)),
            "telegram Bob: Reminder": sum("Reminder: Borrel" in t for t in to_bob()),
            "matrix room: polls": sum(1 for r, e in carol.timeline
                                      if r == room and e.get("type") == POLL_START),
            "matrix room: Borrel is on": sum("Borrel is on" in b
                                             for b in carol.bodies(room, bot_id)),
            "matrix room: Tomorrow": sum(tomorrow in b for b in carol.bodies(room, bot_id)),
            "matrix Dave: Reminder": sum("Reminder: Borrel" in b
                                         for b in dave.bodies(dave_dm, bot_id)),
        }
        print(f"---- what arrived: {counts}")
        assert all(status == "sent" for (_p, _k, status) in outbox), outbox
        assert {p for (p, _k, _s) in outbox} == {"telegram", "matrix"}
        assert statuses[("person", "sent")] == 2 and statuses[("group", "sent")] == 1, statuses
        assert not any(status == "failed" for (_k, status) in statuses), statuses
        assert all(n == 1 for n in counts.values()), counts
        assert fake.violations == []
        for copy in (tg_copy, mx_copy):
            assert await terminate(copy) == 0, copy.output()[-3000:]
        at("done; both copies exited 0 on SIGTERM")
    finally:
        await asyncio.gather(tg_copy.stop(), mx_copy.stop())
        for copy in (tg_copy, mx_copy):
            out = copy.output()
            print(f"---- {copy.log.name}: {out.count(' ERROR ')} ERROR line(s); tail\n"
                  + "\n".join(line for line in out.splitlines()
                              if "apscheduler" not in line)[-3000:])
