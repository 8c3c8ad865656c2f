"""`irlbot run` stopped in the middle of a fan-out: SIGTERM stops reading updates, lets the
work in hand finish, sends what it owes until `[bot] shutdown_deadline_seconds` and exits 0;
what is left goes out at the next start, once. A second SIGTERM exits at once.

Real processes against the fake Bot API at Telegram's own flood limits, made slow (each
message request takes `fake.latency`) so that the fan-out outlasts the signal.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.telegram.fake_bot_api import FakeBotAPI, FakeChat, FakeLimits, FakeUser

MEMBERS = 40
CANCELLED = "is cancelled"


class Bot:
    """One `irlbot run` process; its output is read as it comes (a full pipe would stall it)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, config: Path) -> Bot:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "IRL_TELEGRAM_TOKEN": ""})
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.lines.append(line.decode(errors="replace"))

    async def running(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while "irlbot running" not in self.output:
            assert self.proc.returncode is None, self.output
            assert time.monotonic() < deadline, f"not running after {within} s:\n{self.output}"
            await asyncio.sleep(0.05)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    async def exit_code(self, within: float) -> int:
        try:
            code = await asyncio.wait_for(self.proc.wait(), within)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"still running after {within} s:\n{self.output}") from None
        await self._reader
        return code

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        assert await self.exit_code(30) == 0, self.output


@pytest.fixture
async def slow_fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(limits=FakeLimits()) as api:  # Telegram's own limits
        yield api


def write_config(tmp_path: Path, fake: FakeBotAPI, deadline: int, lease: int = 30) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[database]
url = "sqlite+aiosqlite:///{tmp_path / 'irl.db'}"
[bot]
shutdown_deadline_seconds = {deadline}
send_lease_seconds = {lease}
[telegram]
token = "{fake.token}"
base_url = "{fake.base_url}"
""")
    return config


async def forty_going(fake: FakeBotAPI, bot: Bot) -> tuple[FakeUser, FakeChat, list[FakeUser]]:
    """A chapter, a meetup, and 40 members who pressed "going" (and can be DM'd)."""
    alice = fake.add_user("Alice", started=True)
    members = [fake.add_user(f"Member{i}", started=True) for i in range(MEMBERS)]
    group = fake.add_group("SMC Den Bosch", members=members, admins=[alice])
    when = (datetime.now(ZoneInfo("Europe/Amsterdam")) + timedelta(days=3)).strftime(
        "%Y-%m-%d %H:%M")
    fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await fake.wait_for(lambda: any("now the chapter" in t for t in fake.texts(group)),
                        within=30, what="the /setup answer")
    fake.user_sends(alice, group, f"/newmeetup Borrel; {when}; Café de Unie")
    await fake.wait_for(lambda: any(m.buttons for m in fake.bot_messages(group)),
                        within=30, what="the announcement")
    announcement = next(m for m in fake.bot_messages(group) if m.buttons)
    queries = [fake.press(m, announcement, data=announcement.buttons[0][1]) for m in members]
    await fake.wait_for(lambda: all(fake.answer_to(q) is not None for q in queries),
                        within=60, what="40 answers to the presses")
    return alice, group, members


def cancellations(fake: FakeBotAPI, members: list[FakeUser]) -> Counter[int]:
    return Counter({m.id: sum(CANCELLED in t for t in fake.texts(m.id)) for m in members})


def told(fake: FakeBotAPI, members: list[FakeUser]) -> int:
    return sum(1 for n in cancellations(fake, members).values() if n)


@pytest.mark.parametrize(("deadline", "latency"), [(2, 0.25), (30, 0.1)],
                         ids=["deadline-before-the-fan-out-ends", "deadline-long-enough"])
async def test_sigterm_during_a_fan_out_exits_0_in_time_and_the_rest_goes_out_once_at_restart(
        slow_fake: FakeBotAPI, tmp_path: Path, deadline: int, latency: float) -> None:
    fake = slow_fake
    config = write_config(tmp_path, fake, deadline)
    bot = await Bot.start(config)
    try:
        alice, group, members = await forty_going(fake, bot)
        fake.latency = latency
        fake.user_sends(alice, group, "/cancel")  # asks first
        fake.user_sends(alice, group, "/cancel yes")
        await fake.wait_for(lambda: told(fake, members) >= 5, within=60,
                            what="the first cancellation DMs")
        signalled = time.monotonic()
        bot.proc.send_signal(signal.SIGTERM)
        code = await bot.exit_code(deadline + 15)
        took = time.monotonic() - signalled
    finally:
        if bot.proc.returncode is None:
            bot.proc.kill()
            await bot.proc.wait()
    before = told(fake, members)
    assert code == 0, bot.output
    assert took < deadline + 4, f"exited {took:.1f} s after SIGTERM (deadline {deadline} s)"
    assert "Traceback" not in bot.output, bot.output

    fake.latency = 0.0
    again = await Bot.start(config)
    try:
        await again.running()
        await fake.wait_for(lambda: told(fake, members) == MEMBERS, within=60,
                            what="every member's cancellation DM after the restart")
        await asyncio.sleep(1)  # time for a second copy to show, if one were sent
    finally:
        await again.stop()
    counts = cancellations(fake, members)
    twice = sum(1 for n in counts.values() if n > 1)
    print(f"\ndeadline {deadline} s, {latency} s a request: SIGTERM after 5 DMs; exit 0 after "
          f"{took:.1f} s with {before} of {MEMBERS} told; the restart told "
          f"{MEMBERS - before} more; told twice: {twice}; retry_after violations: "
          f"{len(fake.violations)}")
    assert set(counts.values()) == {1}  # everyone, once
    assert fake.violations == []
    if deadline >= MEMBERS * latency + 5:
        assert before == MEMBERS  # a deadline long enough: everything went out before exit
    else:
        assert before < MEMBERS
    assert sum(CANCELLED in t for t in fake.texts(group)) == 1


async def test_a_second_sigterm_exits_at_once(slow_fake: FakeBotAPI, tmp_path: Path) -> None:
    fake = slow_fake
    config = write_config(tmp_path, fake, deadline=30, lease=2)
    bot = await Bot.start(config)
    try:
        alice, group, members = await forty_going(fake, bot)
        fake.latency = 0.25
        fake.user_sends(alice, group, "/cancel")  # asks first
        fake.user_sends(alice, group, "/cancel yes")
        await fake.wait_for(lambda: told(fake, members) >= 5, within=60,
                            what="the first cancellation DMs")
        bot.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)  # draining: the fan-out goes on
        signalled = time.monotonic()
        bot.proc.send_signal(signal.SIGTERM)
        code = await bot.exit_code(10)
        took = time.monotonic() - signalled
    finally:
        if bot.proc.returncode is None:
            bot.proc.kill()
            await bot.proc.wait()
    before = told(fake, members)
    assert code == 128 + signal.SIGTERM, bot.output  # 143, as a shell reports it
    assert took < 1.5, f"exited {took:.1f} s after the second SIGTERM"
    assert before < MEMBERS
    assert "SIGTERM again: exiting now" in bot.output

    # Like a crash: rows in hand wait out their lease (2 s here), then go out.
    fake.latency = 0.0
    again = await Bot.start(config)
    try:
        await again.running()
        await fake.wait_for(lambda: told(fake, members) == MEMBERS, within=60,
                            what="every member's cancellation DM after the restart")
        await asyncio.sleep(1)
    finally:
        await again.stop()
    counts = cancellations(fake, members)
    twice = sum(1 for n in counts.values() if n > 1)
    print(f"\nsecond SIGTERM: exit {code} after {took:.2f} s with {before} of {MEMBERS} told; "
          f"the restart told {MEMBERS - before} more; told twice: {twice} (at most the rows "
          "sent but not yet recorded)")
    assert set(counts) == {m.id for m in members} and min(counts.values()) == 1
    assert twice <= 10  # CoreSettings.send_chunk: a chunk is recorded once it is sent
