"""Flood limits end to end: bursts in one group, 429s waited out, nothing lost.

The documented limits make 30 answers in one group take over a minute (20 a minute per
group), so the quick tests run every window 10 times faster on both sides; the same
burst at the real limits runs when IRL_SLOW_TESTS=1 (about 70 s).
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from bot.adapters.telegram import FloodLimits
from bot.core.messages import Inbound, UserRef
from tests.telegram.fake_bot_api import FakeBotAPI, FakeLimits, Window
from tests.telegram.tg_support import RecordingCore, make_adapter


async def burst(fake_limits: FakeLimits, client_limits: FloodLimits, within: float) -> FakeBotAPI:
    """30 commands from 10 members in one group within 3 s; the core answers each one."""
    async with FakeBotAPI(limits=fake_limits) as fake:
        adapter = make_adapter(fake, client_limits)
        core = RecordingCore()

        async def answer(msg: Inbound) -> None:
            await adapter.messenger.send_text(msg.chat, f"answer to {msg.text}")

        core.on_message = answer
        members = [fake.add_user(f"Member {i}") for i in range(10)]
        group = fake.add_group("SMC Den Bosch", members=members)
        adapter.bind(core)
        await adapter.start()
        try:
            started = time.monotonic()
            for i in range(30):
                fake.user_sends(members[i % 10], group, f"/rsvp yes {i}")
                await asyncio.sleep(0.1)
            assert time.monotonic() - started < 5
            await fake.wait_for(lambda: len(fake.texts(group)) == 30, within=within, what="30 answers")
        finally:
            await adapter.stop()
        assert fake.texts(group) == [f"answer to /rsvp yes {i}" for i in range(30)]
        assert fake.violations == []
        return fake


def group_sends(fake: FakeBotAPI) -> list[float]:
    return [r.at for r in fake.calls("sendMessage") if r.status == 200]


async def test_burst_of_30_in_one_group_keeps_the_limits() -> None:
    scale = 0.1  # 20 per 6 s per group, 30 per 0.1 s overall, one per 0.1 s per chat
    fake = await burst(FakeLimits().scaled(scale), FloodLimits().scaled(scale), within=20)
    # The client kept to the windows by itself: the fake never had to say 429.
    assert fake.retry_windows == []
    sends = group_sends(fake)
    assert all(b - a >= 6.0 for a, b in zip(sends, sends[20:], strict=False))


async def test_burst_through_429s_loses_nothing() -> None:
    # The client does not know the group limit here, so only retry_after keeps it in line.
    strict = FakeLimits(overall=None, per_chat=None, per_group=Window(10, 3.0))
    fake = await burst(strict, FloodLimits(None, None, None), within=20)
    assert len(fake.retry_windows) >= 2
    assert all(w.reason == "per group" for w in fake.retry_windows)


async def test_a_429_is_waited_out_and_retried() -> None:
    limits = FakeLimits(overall=None, per_chat=Window(1, 1.0), per_group=None)
    async with FakeBotAPI(limits=limits) as fake:
        adapter = make_adapter(fake, FloodLimits(None, None, None))
        adapter.bind(RecordingCore())
        await adapter.start()
        try:
            alice = fake.add_user("Alice")
            fake.start_bot(alice)
            started = time.monotonic()
            for n in range(3):
                await adapter.messenger.send_dm(UserRef("telegram", str(alice.id)), f"dm {n}")
            elapsed = time.monotonic() - started
        finally:
            await adapter.stop()
    assert fake.texts(alice.id) == ["dm 0", "dm 1", "dm 2"]
    assert [r.status for r in fake.calls("sendMessage")] == [200, 429, 200, 429, 200]
    assert elapsed >= 2.0 and adapter.rate_limiter.retries == 2
    assert fake.violations == []


@pytest.mark.long
@pytest.mark.skipif(not os.environ.get("IRL_SLOW_TESTS"), reason="real limits take ~70 s; IRL_SLOW_TESTS=1")
async def test_burst_at_real_telegram_limits() -> None:
    fake = await burst(FakeLimits(), FloodLimits(), within=120)
    assert fake.retry_windows == []
    sends = group_sends(fake)
    assert all(b - a >= 60.0 for a, b in zip(sends, sends[20:], strict=False))


async def test_a_flooded_group_holds_one_slot_and_other_chats_are_answered_meanwhile() -> None:
    """Two slots for the whole bot. A group gets 30 commands, more than its limit lets through
    in a window; a member's private command sent after them is answered while the group is
    still waiting out its limit (before its 21st answer), not after its whole queue."""
    scale = 0.1  # 20 per 6 s per group
    async with FakeBotAPI(limits=FakeLimits().scaled(scale)) as fake:
        adapter = make_adapter(fake, FloodLimits().scaled(scale), slots=2)
        core = RecordingCore()

        async def answer(msg: Inbound) -> None:
            await adapter.messenger.send_text(msg.chat, f"answer to {msg.text}")

        core.on_message = answer
        members = [fake.add_user(f"Member {i}") for i in range(10)]
        group = fake.add_group("SMC Den Bosch", members=members)
        bob = fake.add_user("Bob", started=True)
        adapter.bind(core)
        await adapter.start()
        try:
            for i in range(30):
                fake.user_sends(members[i % 10], group, f"/who {i}")
            await fake.wait_for(lambda: len(fake.texts(group)) >= 3, what="the group's answers")
            fake.user_sends(bob, fake.private_chat(bob), "/help")
            await fake.wait_for(lambda: bool(fake.texts(bob.id)), within=20, what="Bob's answer")
            answered_in_group = len(fake.texts(group))
            await fake.wait_for(lambda: len(fake.texts(group)) == 30, within=30,
                                what="the group's 30 answers")
        finally:
            await adapter.stop()
        # Bob's answer went out while the group was still held by its limit.
        assert answered_in_group <= 20
        sends = [r for r in fake.calls("sendMessage") if r.status == 200]
        to_bob = next(r.at for r in sends if r.chat_id == bob.id)
        in_group = [r.at for r in sends if r.chat_id == group.id]
        assert to_bob < in_group[20]
        assert fake.texts(group) == [f"answer to /who {i}" for i in range(30)]
        assert fake.violations == []
