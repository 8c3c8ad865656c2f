"""Reminder fan-out on Telegram: N members, each in their own private chat, one DM each,
sent through TelegramMessenger.send_dm (PTB, our rate limiter) to the fake Bot API with
Telegram's limits switched on.

The bound is what the limits allow: N / 30 messages a second. The goal is within 15% of
it, with nothing lost.

    .venv/bin/python bench/telegram_fanout.py                 # 1,000 members, one at a time
    .venv/bin/python bench/telegram_fanout.py --concurrency 50
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.telegram import FloodLimits, TelegramAdapter, TelegramSettings
from bot.core.messages import UserRef
from tests.telegram.fake_bot_api import FakeBotAPI, FakeLimits

OVERALL_PER_SECOND = 30


async def fan_out(members: int, concurrency: int) -> dict[str, float]:
    async with FakeBotAPI(limits=FakeLimits()) as fake:
        users = [fake.add_user(f"Member {i}", started=True) for i in range(members)]
        adapter = TelegramAdapter(
            TelegramSettings(token=fake.token, base_url=fake.base_url), limits=FloodLimits()
        )
        await adapter.application.initialize()  # getMe; sending needs no update polling
        queue: asyncio.Queue[int] = asyncio.Queue()
        for user in users:
            queue.put_nowait(user.id)
        failures = 0

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                user_id = queue.get_nowait()
                try:
                    await adapter.messenger.send_dm(
                        UserRef("telegram", str(user_id)),
                        "Herinnering: SMC Den Bosch borrel, morgen 19:30, Café de Unie",
                    )
                except Exception:
                    failures += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
        await adapter.application.shutdown()
        delivered = sum(1 for u in users if fake.texts(u.id))
        return {
            "elapsed": elapsed,
            "bound": members / OVERALL_PER_SECOND,
            "delivered": delivered,
            "lost": members - delivered,
            "failures": failures,
            "429s": sum(1 for r in fake.calls("sendMessage") if r.status == 429),
            "violations": len(fake.violations),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1, help="senders at once")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    r = asyncio.run(fan_out(args.members, args.concurrency))
    over = r["elapsed"] / r["bound"] - 1
    print(f"members            {args.members} (concurrency {args.concurrency})")
    print(f"time taken         {r['elapsed']:.1f} s")
    print(f"bound (N/30 s)     {r['bound']:.1f} s")
    print(f"over the bound     {over:+.1%} (goal: within 15%)")
    print(f"delivered          {r['delivered']:.0f}")
    print(f"lost               {r['lost']:.0f}")
    print(f"429 answers        {r['429s']:.0f}")
    print(f"during retry_after {r['violations']:.0f}")
    return 0 if r["lost"] == 0 and over <= 0.15 else 1


if __name__ == "__main__":
    raise SystemExit(main())
