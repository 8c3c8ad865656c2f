"""The cost of durability: commands a second and p99 per command, before and after the durable
outbox (issue 8), on the same machine in one run.

The same script runs against two trees of the project: "before" (the in-memory outbox, e.g.
a worktree at commit 4fc0135) and "after" (this tree). Each run is a child process with
PYTHONPATH set to its tree, its own fresh database (SQLite file or PostgreSQL database),
and the core's public API only: Core(db, messengers, clock, settings), Core.handle_message,
Inbound, tests.fakes.RecordingMessenger (CoreSettings is imported from bot.core.settings, or
bot.core.context in the older tree). The runs alternate before, after, before, after, ...
so drift in the machine's speed hits both.

A run: an admin sets up the chapter, plans a meetup (one date) and opens a plain poll; then
M members each say "/rsvp yes" (their first contact, not timed). Timed: C commands typed in
the group, one after the other as the Telegram adapter hands one chat's updates to the core,
by members picked at random (seeded, the same sequence in both trees), the mix being
/rsvp yes 30%, /rsvp no 20%, /vote <1-3> 20%, /who 15%, /meetups 15%. Each command's time
is from the call of `handle_message` to its return: its unit of work committed and its
messages handed to the messenger (after: also their outbox rows recorded as sent).

Goal (issue 8): after no more than 20% slower than before (commands a second, medians).

    PYTHONPATH=$PWD .venv/bin/python bench/durability_cost.py --before /work/wt-base
    ... --db postgres --rounds 3 --members 200 --commands 2000

Exit status 1 when the goal is missed on a database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
GOAL_SLOWER = 0.20
MIX = [("/rsvp yes", 30), ("/rsvp no", 20), ("/vote", 20), ("/who", 15), ("/meetups", 15)]


# --- the child: one run against the tree on PYTHONPATH ---------------------------------------

async def run_child(kind: str, members: int, commands: int, seed: int) -> dict[str, object]:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from _db import fresh_database, percentile
    from sqlalchemy import event

    import bot
    from bot.clock import VirtualClock
    from bot.core.app import Core
    from bot.core.messages import ChatRef, Inbound, UserRef
    from bot.db.session import Database
    from tests.fakes import RecordingMessenger

    try:
        from bot.core.settings import CoreSettings
    except ImportError:  # before the settings had a module of their own
        from bot.core.context import CoreSettings  # type: ignore[no-redef]

    start = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    async with fresh_database(kind) as url:
        db = Database(url)
        await db.migrate()
        counts = {"statements": 0, "commits": 0}

        def statement(*_args: object) -> None:
            counts["statements"] += 1

        def commit(*_args: object) -> None:
            counts["commits"] += 1

        event.listen(db.engine.sync_engine, "before_cursor_execute", statement)
        event.listen(db.engine.sync_engine, "commit", commit)
        messenger = RecordingMessenger()
        clock = VirtualClock(start)
        core = Core(db, {messenger.platform: messenger}, clock, CoreSettings())
        group = ChatRef(messenger.platform, "group")
        ids = iter(range(1, 10**9))

        def user(name: str) -> UserRef:
            return UserRef(messenger.platform, name, name.capitalize())

        async def say(name: str, text: str, admin: bool = False) -> None:
            await core.handle_message(Inbound(group, user(name), text, False, admin,
                                              str(next(ids))))

        when = (start + timedelta(days=5)).astimezone(ZoneInfo("Europe/Amsterdam"))
        await say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en", True)
        await say("alice", f"/newmeetup Borrel; {when:%Y-%m-%d} 19:30; Café de Unie", True)
        await say("alice", "/poll Which venue next time?; Verkadefabriek | Café de Unie | "
                           "De Kleine Winst", True)
        names = [f"member{i:05d}" for i in range(members)]
        for name in names:
            await say(name, "/rsvp yes")
        set_up = len(messenger.sent)

        rng = random.Random(seed)
        kinds = [k for k, _w in MIX]
        weights = [w for _k, w in MIX]
        script = []
        for _ in range(commands):
            text = rng.choices(kinds, weights)[0]
            if text == "/vote":
                text = f"/vote {rng.randint(1, 3)}"
            script.append((rng.choice(names), text))
        times: list[float] = []
        counts.update(statements=0, commits=0)
        began = time.perf_counter()
        for name, text in script:
            t0 = time.perf_counter()
            await say(name, text)
            times.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - began
        done = dict(counts)
        sent = len(messenger.sent) - set_up
        await db.dispose()
    return {
        "tree": str(Path(bot.__file__).resolve().parents[1]),
        "db": kind,
        "commands": commands,
        "elapsed": elapsed,
        "rate": commands / elapsed,
        "p50": percentile(times, 50),
        "p99": percentile(times, 99),
        "sent": sent,
        "statements": done["statements"] / commands,
        "commits": done["commits"] / commands,
        "set_up_sent": set_up,
    }


# --- the parent: alternate the two trees ------------------------------------------------------

def one_run(tree: Path, kind: str, args: argparse.Namespace) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, str(HERE), "--child", "--db", kind, "--members", str(args.members),
         "--commands", str(args.commands), "--seed", str(args.seed)],
        env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"run against {tree} on {kind} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if Path(str(result["tree"])) != tree.resolve():
        raise SystemExit(f"the child imported {result['tree']}, not {tree}")
    return result


def spread(values: list[float], scale: float = 1.0, fmt: str = ".0f") -> str:
    lo, mid, hi = min(values), statistics.median(values), max(values)
    return f"{lo * scale:{fmt}} / {mid * scale:{fmt}} / {hi * scale:{fmt}}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="the tree before the change")
    parser.add_argument("--after", type=Path, default=HERE.parents[1],
                        help="the tree after the change (default: this script's)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each tree")
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--commands", type=int, default=2000, help="timed commands a run")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import asyncio
        import logging

        logging.basicConfig(level=logging.WARNING)
        result = asyncio.run(run_child(args.db, args.members, args.commands, args.seed))
        print(json.dumps(result))
        return 0
    if args.before is None:
        parser.error("--before is required")
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    ok = True
    print(f"before {args.before.resolve()}\nafter  {args.after.resolve()}")
    print(f"{args.members} members, {args.commands} timed commands a run, {args.rounds} runs "
          "of each tree, alternating; figures are min / median / max over runs")
    for kind in kinds:
        runs: dict[str, list[dict[str, object]]] = {"before": [], "after": []}
        for round_ in range(args.rounds):
            for label, tree in (("before", args.before), ("after", args.after)):
                r = one_run(tree, kind, args)
                runs[label].append(r)
                print(f"  {kind} round {round_ + 1} {label:6}: {r['rate']:.0f} commands/s, "
                      f"p50 {float(r['p50']) * 1000:.2f} ms, p99 {float(r['p99']) * 1000:.2f} ms, "
                      f"{r['sent']} messages sent, {float(r['statements']):.1f} SQL statements and "
                      f"{float(r['commits']):.2f} commits a command", flush=True)
        print(f"{kind}:")
        for label in ("before", "after"):
            rs = runs[label]
            print(f"  {label:6} commands/s {spread([float(r['rate']) for r in rs])}; "
                  f"p50 ms {spread([float(r['p50']) for r in rs], 1000, '.2f')}; "
                  f"p99 ms {spread([float(r['p99']) for r in rs], 1000, '.2f')}")
        ratios = [float(a["rate"]) / float(b["rate"])
                  for b, a in zip(runs["before"], runs["after"], strict=True)]
        before_rate = statistics.median(float(r["rate"]) for r in runs["before"])
        after_rate = statistics.median(float(r["rate"]) for r in runs["after"])
        slower = 1 - after_rate / before_rate
        p99_ratio = (statistics.median(float(r["p99"]) for r in runs["after"])
                     / statistics.median(float(r["p99"]) for r in runs["before"]))
        met = slower <= GOAL_SLOWER
        ok = ok and met
        print(f"  after/before commands/s, pair by pair: {spread(ratios, 1, '.2f')}")
        print(f"  after is {slower:+.1%} slower (medians; goal: at most {GOAL_SLOWER:.0%}), "
              f"p99 x{p99_ratio:.2f}: goal {'met' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
