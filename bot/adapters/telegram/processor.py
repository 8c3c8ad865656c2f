"""Updates of one chat in order, different chats side by side.

A group waiting out its 20-messages-a-minute limit must not hold up every other chat, yet
"/newmeetup" must be handled before the "/rsvp yes" typed after it. Button presses get their
own lane per chat so a toast never waits behind a throttled group answer. (Poll answers
don't come through here: votes.py keeps each poll's answers in order, in batches.)
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


class ChatOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._lanes: dict[Hashable, _Lane] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        lane = self._lanes.setdefault(key, _Lane())
        lane.users += 1
        try:
            async with lane.lock:
                await coroutine
        finally:
            lane.users -= 1
            if lane.users == 0:
                del self._lanes[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
