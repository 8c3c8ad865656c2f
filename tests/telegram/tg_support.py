"""Helpers shared by the Telegram tests (a module of its own: every test directory has a
module called `conftest`)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.adapters.telegram import FloodLimits, TelegramAdapter, TelegramSettings
from bot.core.messages import ChatPost, ChatRef, Inbound, PollAnswer, Reply, RsvpAction
from bot.db.session import Database
from tests.telegram.fake_bot_api import FakeBotAPI

# Logic tests run the documented limits 50 times faster; burst tests pick their own.
SCALE = 0.02
# The checkout these tests belong to: `irlbot run` subprocesses run its code, whatever
# else is installed in the environment.
ROOT = Path(__file__).resolve().parents[2]


def bot_process_env() -> dict[str, str]:
    """The environment for an `irlbot run` subprocess (start it with cwd=ROOT)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "IRL_TELEGRAM_TOKEN": ""}


@dataclass
class RecordingCore:
    """Stands in for bot.core.app.Core: records what the adapter hands over."""

    messages: list[Inbound] = field(default_factory=list)
    poll_answers: list[PollAnswer] = field(default_factory=list)
    actions: list[RsvpAction] = field(default_factory=list)
    migrations: list[tuple[ChatRef, ChatRef]] = field(default_factory=list)
    posts: list[ChatPost] = field(default_factory=list)
    on_message: Callable[[Inbound], Awaitable[None]] | None = None
    toast: str = "Noted"

    async def handle_message(self, msg: Inbound) -> None:
        self.messages.append(msg)
        if self.on_message is not None:
            await self.on_message(msg)

    async def handle_post(self, post: ChatPost) -> bool:
        self.posts.append(post)
        return True

    async def handle_poll_answer(self, answer: PollAnswer) -> None:
        self.poll_answers.append(answer)

    async def handle_poll_answers(self, answers: Sequence[PollAnswer],
                                  inbox: str | None = None) -> None:
        self.poll_answers.extend(answers)

    async def handle_rsvp_action(self, action: RsvpAction) -> Reply:
        self.actions.append(action)
        return Reply(f"{self.toast}: {action.payload}")

    async def migrate_chat(self, old: ChatRef, new: ChatRef) -> None:
        self.migrations.append((old, new))


def make_adapter(
    fake: FakeBotAPI, limits: FloodLimits, db: Database | None = None, **kwargs: object
) -> TelegramAdapter:
    """The adapter against the fake; with `db` its updates go through the inbox table there
    (without, through an inbox in memory)."""
    settings = TelegramSettings(token=fake.token, base_url=fake.base_url)
    options: dict[str, object] = {"edit_interval": 0.3, "poll_timeout": 5, **kwargs}
    return TelegramAdapter(settings, db, limits=limits, **options)  # type: ignore[arg-type]


def tg(chat_id: int) -> ChatRef:
    """The core's name for a Telegram chat (a group, or a person's private chat)."""
    return ChatRef("telegram", str(chat_id))


REPO = Path(__file__).resolve().parents[2]


class BotProcess:
    """One `irlbot run` after another on the same config; output goes to a file (a pipe
    nobody reads would fill up and block the bot)."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        assert self.proc is None or self.proc.returncode is not None
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"---- start {self.starts}\n".encode())
            out.flush()
            path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(self.config),
                stdout=out, stderr=asyncio.subprocess.STDOUT, cwd=REPO,
                env={**os.environ, "PYTHONPATH": path, "IRL_TELEGRAM_TOKEN": "",
                     "IRL_DATABASE_URL": ""})

    async def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed."""
        assert self.proc is not None and self.proc.returncode is None, self.output()
        os.kill(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            await self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
