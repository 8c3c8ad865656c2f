"""Fan-out through the durable outbox: N reminder DMs at Telegram's real limits.

A chapter with a meetup in two hours and N members who said yes and started the bot, each
with a pending 2-hour reminder that is due now (members, RSVPs and reminders are inserted
with SQL, for speed). Then, timed: `core.run_due()` on a real Core with the TelegramAdapter's
messenger (PTB, our rate limiter) against the fake Bot API with Telegram's limits on
(30 messages in any second, 3 in any 3 s per chat). Every due reminder becomes an outbox row
in its unit of work, which sends it after the commit and records it, as in production; a
reminder DM carries the meetup's calendar file, so each one is a sendDocument with the text
as caption.

The bot (the Core, the adapter's messenger, PTB) runs in a process of its own and the fake in
the script's, as Telegram is not in a bot's process (`bench/_process.py`); `--one-process`
puts both in one event loop, as the runs before 2026-12-01 did.

The bound is what the limits allow: N / 30 s. Goal: within 10% of it, 0 lost, 0 requests
made while a retry_after ran.

    PYTHONPATH=$PWD .venv/bin/python bench/outbox_fanout.py --db sqlite   # 5,000 members
    PYTHONPATH=$PWD .venv/bin/python bench/outbox_fanout.py --db postgres --members 500

Exit status 1 when the goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._db import fresh_database
from bench._process import bot_process_main, run_bot_process
from bot.adapters.telegram import FloodLimits, TelegramAdapter, TelegramSettings
from bot.clock import SystemClock
from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.models import (
    Chapter,
    ChatBinding,
    Identity,
    Meetup,
    MeetupStatus,
    Membership,
    OutboxMessage,
    OutboxStatus,
    Person,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Rsvp,
    RsvpStatus,
)
from bot.db.session import Database
from tests.telegram.fake_bot_api import FakeBotAPI, FakeLimits

OVERALL_PER_SECOND = 30
GOAL_OVER = 0.10
OFFSET = 120  # the 2-hour reminder


async def populate(db: Database, fake: FakeBotAPI, members: int) -> list[int]:
    """The chapter, its group, the meetup, and `members` people who said yes, started the
    bot, and have a reminder due now. Returns the members' Telegram ids."""
    now = datetime.now(UTC)
    users = [fake.add_user(f"Member {i}", started=True) for i in range(members)]
    group = fake.add_group("SMC Den Bosch", members=users)
    for user in users:
        fake.private_chat(user)
    async with db.transaction() as s:
        chapter = Chapter(name="SMC Den Bosch", city="Den Bosch", timezone="Europe/Amsterdam",
                          language="nl", created_at=now)
        s.add(chapter)
        await s.flush()
        s.add(ChatBinding(chapter_id=chapter.id, platform="telegram", chat_id=str(group.id)))
        meetup = Meetup(chapter_id=chapter.id, title="Borrel", venue="Café de Unie",
                        starts_at=now + timedelta(minutes=OFFSET),
                        status=MeetupStatus.SCHEDULED, created_at=now)
        s.add(meetup)
        await s.flush()
        chapter_id, meetup_id = chapter.id, meetup.id
    step = 1000
    for start in range(0, members, step):
        part = users[start:start + step]
        async with db.transaction() as s:
            ids = list(await s.scalars(insert(Person).returning(Person.id), [
                {"display_name": u.first_name, "created_at": now} for u in part]))
            ids.sort()
            await s.execute(insert(Identity), [
                {"person_id": pid, "platform": "telegram", "platform_user_id": str(u.id),
                 "display_name": u.first_name, "dm_started": True}
                for pid, u in zip(ids, part, strict=True)])
            await s.execute(insert(Membership), [
                {"chapter_id": chapter_id, "person_id": pid, "is_organiser": False,
                 "joined_at": now} for pid in ids])
            await s.execute(insert(Rsvp), [
                {"meetup_id": meetup_id, "person_id": pid, "status": RsvpStatus.YES,
                 "guests": 0, "updated_at": now} for pid in ids])
            await s.execute(insert(Reminder), [
                {"meetup_id": meetup_id, "person_id": pid, "kind": ReminderKind.PERSON,
                 "offset_minutes": OFFSET, "due_at": now - timedelta(seconds=1),
                 "status": ReminderStatus.PENDING} for pid in ids])
    return [u.id for u in users]


def pace(stamps: list[float], batch: int) -> dict[str, float]:
    """Where the time went between the first and the last DM that went out: the rate
    limiter's own pace (30 per 1 s + its slack), and the time on top of it, with the part of
    it in gaps longer than 0.2 s, and the part of that at the boundary between two batches
    of claimed reminders."""
    limiter = FloodLimits()
    assert limiter.overall is not None
    step = (limiter.overall.period + limiter.slack) / limiter.overall.count
    stamps = sorted(stamps)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    extra = [max(0.0, g - step) for g in gaps]
    long = [(i, g) for i, g in enumerate(gaps) if g > 0.2]
    return {
        "span": stamps[-1] - stamps[0] if stamps else 0.0,
        "limiter_pace": step * len(gaps),
        "extra": sum(extra),
        "long_gaps": len(long),
        "long_extra": sum(g - step for _i, g in long),
        "boundary_extra": sum(max(0.0, g - step) for i, g in enumerate(gaps)
                              if (i + 1) % batch in (0, batch - 1, 1)),
    }


async def bot_side(p: dict[str, Any], ready: Callable[[], None]) -> dict[str, Any]:
    """The bot: a Core with the TelegramAdapter's messenger sending what is due. Timed from
    the call of `run_due()` to its return."""
    db = Database(p["url"])
    adapter = TelegramAdapter(
        TelegramSettings(token=p["token"], base_url=p["base_url"]),
        limits=FloodLimits() if p["limits"] else FloodLimits(None, None, None),
    )
    await adapter.application.initialize()  # getMe; sending needs no update polling
    core = Core(db, {"telegram": adapter.messenger}, SystemClock(), CoreSettings())
    ready()
    profiler = None
    if p.get("profile"):
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="disabled")
        profiler.start()
    cpu = time.process_time()
    started = time.monotonic()
    handled = await core.run_due()
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu
    if profiler is not None:
        profiler.stop()
        Path(p["profile"]).write_text(profiler.output_html())
        print(profiler.output_text(unicode=False, color=False, show_all=False),
              file=sys.stderr)
    await adapter.application.shutdown()
    await db.dispose()
    return {"started": started, "elapsed": elapsed, "cpu": cpu, "handled": handled}


async def fan_out(kind: str, members: int, limits: bool, one_process: bool,
                  profile: str | None) -> dict[str, float]:
    fake_limits = FakeLimits() if limits else FakeLimits.off()
    async with fresh_database(kind) as url, FakeBotAPI(limits=fake_limits) as fake:
        db = Database(url)
        await db.migrate()
        user_ids = await populate(db, fake, members)
        payload = {"url": url, "token": fake.token, "base_url": fake.base_url,
                   "limits": limits, "profile": profile}
        fake_cpu = time.process_time()
        if one_process:
            bot = await bot_side(payload, lambda: None)
        else:
            bot = await run_bot_process(__file__, payload)
        fake_cpu = time.process_time() - fake_cpu
        got = [len(fake.bot_messages(uid)) for uid in user_ids]
        async with db.transaction() as s:
            rows = dict((await s.execute(select(OutboxMessage.status, func.count())
                                         .group_by(OutboxMessage.status))).all())
            reminders = dict((await s.execute(select(Reminder.status, func.count())
                                              .group_by(Reminder.status))).all())
        await db.dispose()
        sends = fake.calls("sendDocument") + fake.calls("sendMessage")
        stamps = [r.at for r in sends if r.status == 200]
        return {
            **pace(stamps, CoreSettings().batch_size),
            "to_first": min(stamps, default=bot["started"]) - bot["started"],
            "elapsed": bot["elapsed"],
            "cpu": bot["cpu"],
            "fake_cpu": 0.0 if one_process else fake_cpu,
            "bound": members / OVERALL_PER_SECOND,
            "handled": bot["handled"],
            "delivered": sum(1 for n in got if n >= 1),
            "lost": sum(1 for n in got if n == 0),
            "twice": sum(1 for n in got if n > 1),
            "outbox_sent": rows.get(OutboxStatus.SENT, 0),
            "outbox_pending": rows.get(OutboxStatus.PENDING, 0),
            "outbox_failed": rows.get(OutboxStatus.FAILED, 0),
            "reminders_sent": reminders.get(ReminderStatus.SENT, 0),
            "429s": sum(1 for r in sends if r.status == 429),
            "violations": len(fake.violations),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--no-limits", action="store_true",
                        help="diagnosis: Telegram's limits off on both sides, to see how fast "
                             "the outbox can go at all (no goal)")
    parser.add_argument("--one-process", action="store_true",
                        help="the bot in this process, beside the fake (as before 2026-12-01)")
    parser.add_argument("--profile", metavar="HTML",
                        help="write a pyinstrument profile of the bot's timed part to this file")
    logging.basicConfig(level=logging.WARNING)
    if bot_process_main(bot_side):
        return 0
    args = parser.parse_args()
    profile = str(Path(args.profile).resolve()) if args.profile else None
    r = asyncio.run(fan_out(args.db, args.members, not args.no_limits, args.one_process,
                            profile))
    over = r["elapsed"] / r["bound"] - 1
    s = CoreSettings()
    print(f"database           {args.db}")
    print(f"members            {args.members} (send_concurrency {s.send_concurrency}, "
          f"batch_size {s.batch_size}, send_chunk {s.send_chunk})")
    print(f"time taken         {r['elapsed']:.1f} s")
    print(f"bound (N/30 s)     {r['bound']:.1f} s")
    print(f"over the bound     {over:+.1%} (goal: within {GOAL_OVER:.0%})")
    print(f"rate               {args.members / r['elapsed']:.2f} DMs a second")
    print(f"delivered          {r['delivered']:.0f}")
    print(f"lost               {r['lost']:.0f}")
    print(f"delivered twice    {r['twice']:.0f}")
    print(f"outbox rows        {r['outbox_sent']:.0f} sent, {r['outbox_pending']:.0f} pending, "
          f"{r['outbox_failed']:.0f} failed; reminders marked sent {r['reminders_sent']:.0f}")
    print(f"first DM out after {r['to_first']:.2f} s; first to last DM {r['span']:.1f} s = "
          f"limiter's pace {r['limiter_pace']:.1f} s + {r['extra']:.1f} s more "
          f"({r['long_gaps']:.0f} gaps > 0.2 s: {r['long_extra']:.1f} s; at batch "
          f"boundaries: {r['boundary_extra']:.1f} s)")
    where = ("the bot and the fake share this process and one event loop" if args.one_process
             else "the bot's process; the fake in the script's")
    print(f"CPU of the bot     {r['cpu']:.1f} s = {r['cpu'] / max(args.members, 1) * 1000:.1f} ms a DM "
          f"= {r['cpu'] / r['elapsed']:.0%} of one core ({where})")
    if not args.one_process:
        print(f"CPU of the fake    {r['fake_cpu']:.1f} s = "
              f"{r['fake_cpu'] / max(args.members, 1) * 1000:.1f} ms a DM")
    print(f"429 answers        {r['429s']:.0f}")
    print(f"during retry_after {r['violations']:.0f}")
    if args.no_limits:
        print("goal               none (limits off: a diagnosis)")
        return 0
    met = r["lost"] == 0 and r["violations"] == 0 and over <= GOAL_OVER
    print(f"goal               {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
