"""A stand-in for the core: records what the adapter hands it, and answers commands."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from bot.core.messages import Inbound, PollAnswer, ReactionRsvp
from bot.core.ports import Messenger


class RecordingCore:
    def __init__(self, reply: bool = True) -> None:
        self.messages: list[Inbound] = []
        self.poll_answers: list[PollAnswer] = []
        self.reactions: list[ReactionRsvp] = []
        self.messenger: Messenger | None = None
        self.reply = reply
        self._changed = asyncio.Event()

    async def handle_message(self, msg: Inbound) -> None:
        self.messages.append(msg)
        self._changed.set()
        if self.reply and self.messenger is not None and msg.text.startswith("/"):
            await self.messenger.send_text(msg.chat, f"ok {msg.text}")

    async def handle_poll_answer(self, answer: PollAnswer) -> None:
        self.poll_answers.append(answer)
        self._changed.set()

    async def handle_reaction(self, reaction: ReactionRsvp) -> None:
        self.reactions.append(reaction)
        self._changed.set()

    async def wait_until(self, condition: Callable[[], bool], within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the adapter did not deliver in time")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def texts(self) -> list[str]:
        return [m.text for m in self.messages]
