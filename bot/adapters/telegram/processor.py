"""Updates of one chat in order, different chats side by side.

A group waiting out its 20-messages-a-minute limit must not hold up every other chat, yet
"/newmeetup" must be handled before the "/rsvp yes" typed after it. Button presses get their
own lane per chat so a toast never waits behind a throttled group answer. (Poll answers
don't come through here: votes.py keeps each poll's answers in order, in batches.)

Slots: at most `slots` updates are handled at once, and an update takes a slot only once it
is its lane's turn. So a flooded group holds one slot (the update being answered, waiting out
the group's limit), never one per update queued behind it; python-telegram-bot's own
semaphore takes a slot *before* our ordering, so it is set out of reach and ours counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def ordering_key(update: object) -> Hashable:
    if not isinstance(update, Update):
        return ("other", id(update))
    if update.callback_query:
        query = update.callback_query
        chat_id = query.message.chat.id if query.message else query.from_user.id
        return ("button", chat_id)
    if update.effective_chat:
        return ("chat", update.effective_chat.id)
    return ("other", update.update_id)


class _Lane:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


# python-telegram-bot's semaphore, taken before an update's lane: out of reach on purpose.
_UNBOUNDED = 2**30


class ChatOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, slots: int = 1024) -> None:
        super().__init__(_UNBOUNDED)
        self.slots = slots
        self._slots = asyncio.Semaphore(slots)
        self._lanes: dict[Hashable, _Lane] = {}
        self.busy = 0  # updates being handled now (holding a slot)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        lane = self._lanes.setdefault(key, _Lane())
        lane.users += 1
        try:
            async with lane.lock, self._slots:
                self.busy += 1
                try:
                    await coroutine
                finally:
                    self.busy -= 1
        finally:
            lane.users -= 1
            if lane.users == 0:
                del self._lanes[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
