"""A stand-in for the core: records what the adapter hands it, and answers commands.

Like the core it records the id of each event it handled and drops a repeat (the core does it
in the transaction of the event's effect). A bot restarted on the same store shares the
record, as a restarted process shares its database: see `make_bot`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.core.messages import ChatPost, ChatRef, Inbound, PollAnswer, ReactionRsvp
from bot.core.ports import Messenger
from bot.waiting import wait_set


class RecordingCore:
    def __init__(self, reply: bool = True, handled: set[str] | None = None) -> None:
        self.handled: set[str] = handled if handled is not None else set()
        self.messages: list[Inbound] = []
        self.poll_answers: list[PollAnswer] = []
        self.reactions: list[ReactionRsvp] = []
        self.messenger: Messenger | None = None
        self.reply = reply
        self.chapter_rooms: set[str] = set()  # what `is_chapter_chat` says yes to
        self._changed = asyncio.Event()

    def first_delivery(self, event_id: str | None) -> bool:
        """Records the event as handled; False when it was before."""
        if event_id is None:
            return True
        if event_id in self.handled:
            return False
        self.handled.add(event_id)
        return True

    async def handle_message(self, msg: Inbound) -> None:
        if not self.first_delivery(msg.message_id):
            return
        self.messages.append(msg)
        self._changed.set()
        if self.reply and self.messenger is not None and msg.text.startswith("/"):
            await self.messenger.send_text(msg.chat, f"ok {msg.text}")

    async def handle_post(self, post: ChatPost) -> bool:
        """Hashtag chatter: nothing for a wall here."""
        return False

    async def handle_poll_answer(self, answer: PollAnswer) -> None:
        if not self.first_delivery(answer.event_id):
            return
        self.poll_answers.append(answer)
        self._changed.set()

    async def handle_reaction(self, reaction: ReactionRsvp) -> None:
        if not self.first_delivery(reaction.event_id):
            return
        self.reactions.append(reaction)
        self._changed.set()

    async def is_chapter_chat(self, chat: ChatRef) -> bool:
        return chat.id in self.chapter_rooms

    async def wait_until(self, condition: Callable[[], bool], within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the adapter did not deliver in time")
            self._changed.clear()
            await wait_set(self._changed, remaining)

    def texts(self) -> list[str]:
        return [m.text for m in self.messages]
