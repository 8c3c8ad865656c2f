"""Vote storm: N native poll answers from N members through the Telegram adapter and the core.

A chapter bound to a group of N members (people, accounts and memberships inserted with SQL,
then ANALYZE on PostgreSQL) and a plain poll the bot posted there through its messenger. Then,
timed: the fake Bot API queues one `poll_answer` update per member at once (as
`FakeBotAPI.vote` builds it; the `poll` update `vote` adds is left out: the bot does not ask
for it, and building it counts every vote so far, which would make queuing 10,000 answers
quadratic). The adapter long-polls them with python-telegram-bot, stores each batch in the
durable inbox table, and hands the answers to one poll over in batches (votes.py) to
`Core.handle_poll_answers`, which records a batch in one unit of work.

The bot (PTB, the adapter, its inbox, the core) runs in a process of its own and the fake in
the script's, as Telegram is not in a bot's process (`bench/_process.py`); `--one-process`
puts both in one event loop, as the runs before 2026-12-01 did.

Per vote: from when its answer was queued in the fake to when the `handle_poll_answers` call
that carried it returned (its unit of work committed). Rate: votes / (last commit - first
queued); the queuing itself (in the fake) is inside that time. Finally every
vote must be in `votes` (SELECT count(*)), with the right tally per option.

Goal (issue 8): at least 2,000 votes a second on PostgreSQL, with every vote counted.

    PYTHONPATH=$PWD .venv/bin/python bench/vote_storm.py --db postgres            # 10,000
    PYTHONPATH=$PWD .venv/bin/python bench/vote_storm.py --db sqlite --voters 1000

Exit status 1 when the goal is missed (on SQLite: when a vote is missing).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._db import fresh_database, percentile
from bench._process import bot_process_main, run_bot_process
from bot.adapters.telegram import FloodLimits, TelegramAdapter, TelegramSettings
from bot.clock import SystemClock
from bot.core.app import Core
from bot.core.messages import ChatRef, PollAnswer
from bot.core.settings import CoreSettings
from bot.db.models import (
    Chapter,
    ChatBinding,
    Identity,
    Membership,
    Person,
    Poll,
    PollKind,
    PollOption,
    PostedMessage,
    PostKind,
    Vote,
)
from bot.db.session import Database
from tests.telegram.fake_bot_api import FakeBotAPI, FakeLimits

GOAL_RATE = 2000.0
OPTIONS = ["Verkadefabriek", "Café de Unie", "De Kleine Winst"]


async def populate(db: Database, fake: FakeBotAPI, adapter: TelegramAdapter,
                   voters: int) -> tuple[list, str]:  # type: ignore[type-arg]
    """The chapter, its group with `voters` known members, and the bot's native poll in it.
    Returns the fake's users and the poll's Telegram id."""
    now = datetime.now(UTC)
    users = [fake.add_user(f"Member {i}") for i in range(voters)]
    group = fake.add_group("SMC Den Bosch", members=users)
    sent = await adapter.messenger.send_poll(ChatRef("telegram", str(group.id)),
                                             "Which venue?", OPTIONS, multiple=False)
    async with db.transaction() as s:
        chapter = Chapter(name="SMC Den Bosch", city="Den Bosch", timezone="Europe/Amsterdam",
                          language="nl", created_at=now)
        s.add(chapter)
        await s.flush()
        s.add(ChatBinding(chapter_id=chapter.id, platform="telegram", chat_id=str(group.id)))
        poll = Poll(chapter_id=chapter.id, question="Which venue?", kind=PollKind.PLAIN,
                    multiple=False, closes_at=now + timedelta(days=2), created_at=now)
        s.add(poll)
        await s.flush()
        for position, label in enumerate(OPTIONS):
            s.add(PollOption(poll_id=poll.id, position=position, label=label))
        s.add(PostedMessage(chapter_id=chapter.id, kind=PostKind.POLL, poll_id=poll.id,
                            platform="telegram", chat_id=str(group.id),
                            message_id=sent.message_id, platform_poll_id=sent.platform_poll_id,
                            created_at=now))
        chapter_id = chapter.id
    step = 2000
    for start in range(0, voters, step):
        part = users[start:start + step]
        async with db.transaction() as s:
            ids = sorted(await s.scalars(insert(Person).returning(Person.id), [
                {"display_name": u.first_name, "created_at": now} for u in part]))
            await s.execute(insert(Identity), [
                {"person_id": pid, "platform": "telegram", "platform_user_id": str(u.id),
                 "display_name": u.first_name, "dm_started": False}
                for pid, u in zip(ids, part, strict=True)])
            await s.execute(insert(Membership), [
                {"chapter_id": chapter_id, "person_id": pid, "is_organiser": False,
                 "joined_at": now} for pid in ids])
    if db.dialect == "postgresql":
        # What autovacuum would have done by now on a live database: without statistics the
        # planner takes the 10,000 accounts inserted a second ago for a handful, and looks a
        # batch's voters up by scanning them all (250 ms a batch instead of 10).
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    return users, sent.platform_poll_id


async def bot_side(p: dict[str, Any], ready: Callable[[], None]) -> dict[str, Any]:
    """The bot: the adapter long-polling the fake, its inbox, and the core recording the
    answers, each `handle_poll_answers` call timed. Returns when all `voters` are in (or
    after `wait` seconds)."""
    voters, wait = p["voters"], p["wait"]
    db = Database(p["url"])
    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    adapter = TelegramAdapter(TelegramSettings(token=p["token"], base_url=p["base_url"]), db,
                              limits=FloodLimits(), poll_timeout=5)
    core = Core(db, {"telegram": adapter.messenger}, SystemClock(), CoreSettings())
    await adapter.application.initialize()

    committed: dict[str, float] = {}
    inside: list[float] = []  # per batch
    sizes: list[int] = []
    failed = 0
    all_in = asyncio.Event()
    handle = core.handle_poll_answers

    async def timed(answers: Sequence[PollAnswer], inbox: str | None = None) -> None:
        nonlocal failed
        began = time.monotonic()
        try:
            await handle(answers, inbox)
        except Exception:
            failed += len(answers)
            raise
        now = time.monotonic()
        inside.append(now - began)
        sizes.append(len(answers))
        for answer in answers:
            committed[answer.voter.id] = now
        if len(committed) >= voters:
            all_in.set()

    core.handle_poll_answers = timed  # type: ignore[method-assign]
    adapter.bind(core)
    await adapter.start()  # long polling from here on
    profiler = None
    if p.get("profile"):
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="disabled")
        profiler.start()
    try:
        statements = 0
        cpu = time.process_time()
        ready()
        try:
            await asyncio.wait_for(all_in.wait(), wait)
        except TimeoutError:
            pass
        during = statements
        cpu = time.process_time() - cpu
    finally:
        if profiler is not None:
            profiler.stop()
            Path(p["profile"]).write_text(profiler.output_html())
            print(profiler.output_text(unicode=False, color=False, show_all=False),
                  file=sys.stderr)
        await adapter.stop()
    await db.dispose()
    return {"committed": committed, "inside": inside, "sizes": sizes, "statements": during,
            "cpu": cpu, "failed": failed}


async def storm(kind: str, voters: int, wait: float, one_process: bool,
                profile: str | None) -> dict[str, float]:
    async with fresh_database(kind) as url, FakeBotAPI(limits=FakeLimits()) as fake:
        db = Database(url)
        await db.migrate()
        sender = TelegramAdapter(TelegramSettings(token=fake.token, base_url=fake.base_url),
                                 limits=FloodLimits())
        await sender.application.initialize()
        users, poll_id = await populate(db, fake, sender, voters)
        await sender.application.shutdown()
        poll = fake.polls[poll_id]
        queued: dict[str, float] = {}
        first = 0.0
        queued_in = 0.0

        async def vote() -> None:
            nonlocal first, queued_in
            first = time.monotonic()
            for i, user in enumerate(users):
                chosen = (i % len(OPTIONS),)
                poll.votes[user.id] = chosen
                fake.push_update("poll_answer", {
                    "poll_id": poll.id, "user": user.to_api(), "option_ids": list(chosen),
                    "option_persistent_ids": [f"{poll.id}-{c}" for c in chosen]})
                queued[str(user.id)] = time.monotonic()
            queued_in = time.monotonic() - first

        payload = {"url": url, "token": fake.token, "base_url": fake.base_url,
                   "voters": voters, "wait": wait, "profile": profile}
        fake_cpu = time.process_time()
        if one_process:
            started = asyncio.Event()
            bot_task = asyncio.create_task(bot_side(payload, started.set))
            await started.wait()
            await vote()
            bot = await bot_task
        else:
            bot = await run_bot_process(__file__, payload, on_ready=vote)
        fake_cpu = time.process_time() - fake_cpu
        committed: dict[str, float] = bot["committed"]
        last = max(committed.values(), default=time.monotonic())
        async with db.transaction() as s:
            counted = await s.scalar(select(func.count()).select_from(Vote)) or 0
            per_option = dict((await s.execute(
                select(PollOption.position, func.count()).join(Vote, Vote.option_id == PollOption.id)
                .group_by(PollOption.position))).all())
        await db.dispose()
        expected = {p: sum(1 for i in range(voters) if i % len(OPTIONS) == p)
                    for p in range(len(OPTIONS))}
        latency = [committed[v] - queued[v] for v in committed if v in queued]
        inside, sizes = bot["inside"], bot["sizes"]
        return {
            "queued_in": queued_in,
            "elapsed": last - first,
            "handled": len(committed),
            "statements": bot["statements"],
            "cpu": bot["cpu"],
            "fake_cpu": 0.0 if one_process else fake_cpu,
            "failed": bot["failed"],
            "counted": counted,
            "tally_ok": float(per_option == expected),
            "p50": percentile(latency, 50),
            "p99": percentile(latency, 99),
            "max": max(latency, default=0.0),
            "in_p50": percentile(inside, 50),
            "in_p99": percentile(inside, 99),
            "in_mean": sum(inside) / len(inside) if inside else 0.0,
            "batches": len(sizes),
            "batch_p50": percentile([float(n) for n in sizes], 50),
            "batch_max": max(sizes, default=0),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for every vote")
    parser.add_argument("--one-process", action="store_true",
                        help="the bot in this process, beside the fake (as before 2026-12-01)")
    parser.add_argument("--profile", metavar="HTML",
                        help="write a pyinstrument profile of the bot's side to this file")
    logging.basicConfig(level=logging.WARNING)
    if bot_process_main(bot_side):
        return 0
    args = parser.parse_args()
    profile = str(Path(args.profile).resolve()) if args.profile else None
    r = asyncio.run(storm(args.db, args.voters, args.timeout, args.one_process, profile))
    rate = r["handled"] / r["elapsed"] if r["elapsed"] > 0 else 0.0
    print(f"database           {args.db}")
    print(f"voters             {args.voters} (answers queued in {r['queued_in'] * 1000:.0f} ms)")
    print(f"time taken         {r['elapsed']:.2f} s (first queued to last committed)")
    print(f"votes a second     {rate:.0f} (goal on PostgreSQL: {GOAL_RATE:.0f})")
    print(f"queued->committed  p50 {r['p50'] * 1000:.0f} ms, p99 {r['p99'] * 1000:.0f} ms, "
          f"max {r['max'] * 1000:.0f} ms")
    print(f"batches            {r['batches']:.0f}, median {r['batch_p50']:.0f} answers, "
          f"largest {r['batch_max']:.0f}")
    print(f"inside the core    a batch: p50 {r['in_p50'] * 1000:.1f} ms, p99 "
          f"{r['in_p99'] * 1000:.1f} ms, mean {r['in_mean'] * 1000:.1f} ms")
    where = ("adapter, core and the fake in one process" if args.one_process
             else "the bot's process: PTB, adapter, core")
    print(f"CPU of the bot     {r['cpu']:.1f} s = {r['cpu'] / max(r['handled'], 1) * 1000:.2f} ms a "
          f"vote ({where})")
    if not args.one_process:
        print(f"CPU of the fake    {r['fake_cpu']:.1f} s = "
              f"{r['fake_cpu'] / max(r['handled'], 1) * 1000:.2f} ms a vote (queuing and getUpdates)")
    print(f"handled            {r['handled']:.0f} ({r['failed']:.0f} raised), "
          f"{r['statements'] / max(r['handled'], 1):.2f} SQL statements a vote")
    print(f"counted (votes)    {r['counted']:.0f} of {args.voters}; tallies per option "
          f"{'right' if r['tally_ok'] else 'WRONG'}")
    all_counted = r["counted"] == args.voters and bool(r["tally_ok"])
    met = all_counted and (args.db != "postgres" or rate >= GOAL_RATE)
    print(f"goal               {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
