"""Issue 8 on Matrix: `irlbot run` stopped with SIGTERM in the middle of a 30-DM fan-out, then
started again. Every member gets the cancellation DM exactly once.

A real process against the session's real Synapse, on PostgreSQL. The bot's account is held to
4 messages a second by Synapse (its own rate limit, set through the admin API) during the
fan-out, so that the SIGTERM lands in the middle of it; `shutdown_deadline_seconds = 1` leaves
most DMs to the next start. Matrix sends use the outbox row's key as the transaction id, so a
row sent but not recorded before the exit is deduplicated by Synapse when it is sent again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db.session import Database
from tests.matrix.conftest import MakeMember
from tests.matrix.mx_helpers import room_with_bot
from tests.matrix.mx_process import (
    bot_section,
    command,
    matrix_section,
    open_dm,
    room_bodies,
    rows,
    scalar,
    set_message_rate,
    terminate,
    wait_until,
    when,
    write_config,
)
from tests.matrix.mx_synapse import SynapseServer
from tests.telegram.tg_support import BotProcess

MEMBERS = 30
CANCELLED = "is cancelled"  # "Sorry: Borrel (SMC Veghel) is cancelled."


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.mark.long
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_sigterm_during_a_30_dm_fan_out_then_restart_every_dm_arrives_once(
        synapse: SynapseServer, make_member: MakeMember, db_url: str, database: Database,
        tmp_path: Path) -> None:
    started = time.monotonic()
    account = synapse.register(synapse.unique("bot"), displayname="IRL bot")
    bot_id = account.user_id
    config = write_config(tmp_path / "config.toml", db_url,
                          bot_section(shutdown_deadline_seconds=1),
                          matrix_section(synapse, account))
    bot = BotProcess(config, tmp_path / "irlbot.log")
    alice = await make_member("alice")
    members = list(await asyncio.gather(*(make_member(f"m{i:02d}") for i in range(MEMBERS))))
    try:
        await bot.start()
        room = await room_with_bot(alice, bot_id, *members)
        print(f"---- {time.monotonic() - started:.1f} s: the chapter's room")
        await command(alice, room, bot_id, "!setup SMC Veghel; Veghel; Europe/Amsterdam; en",
                      "SMC Veghel", within=60)
        print(f"---- {time.monotonic() - started:.1f} s: the chapter is set up")
        dm_rooms = list(await asyncio.gather(*(open_dm(m, bot_id) for m in members)))
        print(f"---- {time.monotonic() - started:.1f} s: {MEMBERS} DM rooms with the bot")
        announcement = await command(alice, room, bot_id, f"!newmeetup Borrel; {when(3)}; Café",
                                     "New meetup!")
        await asyncio.gather(*(m.react(room, announcement["event_id"], "✅") for m in members))

        async def all_yes() -> bool:
            return await scalar(database, "SELECT count(*) FROM rsvps "
                                          "WHERE status = 'yes'") == MEMBERS

        await wait_until(all_yes, 40, f"{MEMBERS} members saying yes")
        print(f"---- {time.monotonic() - started:.1f} s: {MEMBERS} said yes")
        await wait_until(lambda: _drained(database), 30, "the RSVP answers to go out")
        print(f"---- set up in {time.monotonic() - started:.1f} s")

        def arrived() -> dict[str, int]:
            return {m.user_id: sum(CANCELLED in b for b in m.bodies(dm, bot_id))
                    for m, dm in zip(members, dm_rooms, strict=True)}

        # 4 messages a second from here: the fan-out takes about 8 s.
        set_message_rate(synapse, bot_id, 4, 1)
        await command(alice, room, bot_id, "!cancel", "Cancel", within=30)  # asks first
        await command(alice, room, bot_id, "!cancel yes", "", within=30)
        await alice.wait_until(lambda: sum(arrived().values()) >= 3, within=30)
        at_signal = sum(arrived().values())
        signalled = time.monotonic()
        code = await terminate(bot)
        print(f"---- SIGTERM after {at_signal} DMs had arrived; exit code {code} "
              f"in {time.monotonic() - signalled:.1f} s")
        assert code == 0, bot.output()[-3000:]
        at_exit = await rows(database, "SELECT kind, status FROM outbox")
        print(f"---- outbox at the exit: {sorted(Counter(map(tuple, at_exit)).items())}")
        left = sum(1 for kind, status in at_exit if kind == "dm" and status == "pending")
        assert left > 0, "the fan-out finished before the deadline: nothing left for the restart"
        assert "stopping:" in bot.output()

        set_message_rate(synapse, bot_id, 0, 0)
        await bot.start()
        await alice.wait_until(lambda: all(arrived().values()), within=40)
        await wait_until(lambda: _drained(database), 30, "the outbox to drain")
        await asyncio.sleep(2.5)  # past a send lease: a second copy of anything would be out

        counts = {m.user_id: sum(CANCELLED in b for b in await room_bodies(m, dm, bot_id))
                  for m, dm in zip(members, dm_rooms, strict=True)}
        histogram = Counter(counts.values())
        print(f"---- cancellation DMs per member (from each DM room's history): {histogram}; "
              f"{at_signal} had arrived at the SIGTERM, {left} rows left for the restart")
        failed = await scalar(database, "SELECT count(*) FROM outbox WHERE status = 'failed'")
        assert failed == 0
        assert all(n == 1 for n in counts.values()), counts
        assert arrived() == counts  # what the members' clients saw agrees
        group = [b for b in alice.bodies(room, bot_id) if "Borrel is cancelled" in b]
        assert len(group) == 1, group
        edits = [e["content"].get("m.new_content", {}).get("body", "")
                 for r, e in alice.timeline
                 if r == room and e["content"].get("m.relates_to", {}).get("rel_type")
                 == "m.replace"
                 and e["content"]["m.relates_to"].get("event_id") == announcement["event_id"]]
        print(f"---- edits of the announcement seen: {len(edits)}; the last: {edits[-1][:40]!r}")
        assert edits[-1].startswith("❌"), edits
        print(f"---- test body took {time.monotonic() - started:.1f} s")
    finally:
        set_message_rate(synapse, bot_id, 0, 0)
        await bot.stop()
        print("---- irlbot output (tail)\n" + bot.output()[-5000:])


async def _drained(database: Database) -> bool:
    return await scalar(database, "SELECT count(*) FROM outbox WHERE status = 'pending'") == 0
