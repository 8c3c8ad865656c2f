"""Latency of the Matrix adapter: 200 commands from 4 users through a real Synapse.

Starts a throwaway Synapse (as the tests do), a bot on the real core (SQLite, system clock)
or, with --stand-in, on an echo core, and four members who each send a command and wait for
the bot's reply before sending the next. Prints the median and 95th percentile from a
member's send to the reply arriving in the room, as seen by a member's client (and, for
reference, between the two events' server timestamps).

    .venv/bin/python bench/matrix_latency.py [--commands 200] [--users 4] [--stand-in]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.adapters.matrix import MatrixAdapter, MatrixSettings, MemoryStateStore  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.core.app import Core  # noqa: E402
from bot.core.settings import CoreSettings  # noqa: E402
from bot.db.session import Database  # noqa: E402
from tests.matrix.mx_members import Member  # noqa: E402
from tests.matrix.mx_recorder import RecordingCore  # noqa: E402
from tests.matrix.mx_synapse import SynapseServer  # noqa: E402

COMMANDS = ("!who", "!meetups", "!rsvp yes", "!help", "!rsvp maybe")


@dataclass
class Pending:
    event_id: str
    sent_at: float
    answered: asyncio.Future[tuple[float, int]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Pairing:
    """Matches each bot reply to the oldest unanswered command in the room's order.

    The adapter handles a room's events one by one and each of these commands gets exactly
    one reply (edits of the announcement are skipped), so order is enough to pair them.
    """

    def __init__(self, observer: Member, room: str, bot_id: str, users: set[str]) -> None:
        self.observer, self.room, self.bot_id, self.users = observer, room, bot_id, users
        self.by_event: dict[str, Pending] = {}
        self.queue: list[tuple[str, int]] = []  # (event id, origin_server_ts)
        self.seen = len(observer.timeline)

    def poll(self) -> None:
        now = time.perf_counter()
        for room, event in self.observer.timeline[self.seen:]:
            self.seen += 1
            if room != self.room or event.get("type") != "m.room.message":
                continue
            content = event.get("content") or {}
            if event.get("sender") in self.users and content.get("body", "").startswith("!"):
                self.queue.append((event["event_id"], event["origin_server_ts"]))
            elif event.get("sender") == self.bot_id and "m.new_content" not in content:
                command_id, command_ts = self.queue.pop(0)
                pending = self.by_event.get(command_id)
                if pending is not None and not pending.answered.done():
                    pending.answered.set_result((now, event["origin_server_ts"] - command_ts))

    async def run(self) -> None:
        while True:
            await self.observer.wait_until(lambda: len(self.observer.timeline) > self.seen,
                                           within=3600)
            self.poll()


async def member_loop(member: Member, room: str, pairing: Pairing, count: int,
                      offset: int) -> list[tuple[float, int]]:
    out = []
    for i in range(count):
        text = COMMANDS[(i + offset) % len(COMMANDS)]
        started = time.perf_counter()
        event_id = await member.say(room, text)
        pending = Pending(event_id, started)
        pairing.by_event[event_id] = pending
        pairing.poll()  # the reply may already be in
        done_at, server_ms = await asyncio.wait_for(pending.answered, 60)
        out.append(((done_at - started) * 1000, server_ms))
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="irl-bench-"))
    server = SynapseServer(base / "synapse")
    server.start()
    db: Database | None = None
    adapter: MatrixAdapter | None = None
    members: list[Member] = []
    try:
        account = server.register("irlbot", displayname="IRL bot")
        settings = MatrixSettings(homeserver=server.url, user_id=account.user_id,
                                  password=account.password)
        adapter = MatrixAdapter(settings, MemoryStateStore())
        if args.stand_in:
            stand_in = RecordingCore()
            stand_in.messenger = adapter.messenger
            adapter.bind(stand_in)
        else:
            db = Database(f"sqlite+aiosqlite:///{base / 'irl.db'}")
            await db.migrate()
            adapter.bind(Core(db, {"matrix": adapter.messenger}, SystemClock(), CoreSettings()))
        await adapter.start()
        for i in range(args.users):
            member = Member(server, server.register(f"user{i}", displayname=f"User {i}"))
            await member.start()
            members.append(member)
        owner = members[0]
        room = await owner.create_room([account.user_id, *(m.user_id for m in members[1:])])
        for m in members[1:]:
            await m.join(room)
        await owner.wait_for(lambda r, e: e.get("type") == "m.room.member"
                             and e.get("state_key") == account.user_id
                             and e["content"].get("membership") == "join")
        if not args.stand_in:
            when = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d 19:30")
            for text, expect in (("!setup Bench; Eindhoven; Europe/Amsterdam; en", "Bench"),
                                 (f"!newmeetup Benchmark borrel; {when}; Area51", "Benchmark")):
                mark = len(owner.timeline)
                await owner.say(room, text)
                await owner.wait_for(lambda r, e, x=expect: e.get("sender") == account.user_id
                                     and x in e["content"].get("body", ""), after=mark)
        await asyncio.sleep(1)  # let the announcement's seeded reactions settle

        pairing = Pairing(owner, room, account.user_id, {m.user_id for m in members})
        pairer = asyncio.create_task(pairing.run())
        per_user = args.commands // args.users
        started = time.perf_counter()
        results = await asyncio.gather(*(member_loop(m, room, pairing, per_user, i)
                                         for i, m in enumerate(members)))
        elapsed = time.perf_counter() - started
        pairer.cancel()
        client_ms = [r[0] for rs in results for r in rs]
        server_ms = [float(r[1]) for rs in results for r in rs]
        return {
            "core": "stand-in" if args.stand_in else "real",
            "commands": len(client_ms),
            "users": args.users,
            "median_ms": round(statistics.median(client_ms), 1),
            "p95_ms": round(percentile(client_ms, 95), 1),
            "max_ms": round(max(client_ms), 1),
            "server_median_ms": round(statistics.median(server_ms), 1),
            "server_p95_ms": round(percentile(server_ms, 95), 1),
            "throughput_per_s": round(len(client_ms) / elapsed, 1),
        }
    finally:
        for m in members:
            await m.close()
        if adapter is not None:
            await adapter.stop()
        if db is not None:
            await db.dispose()
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--stand-in", action="store_true",
                        help="an echo core instead of the real one")
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
