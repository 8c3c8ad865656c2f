"""Telegram out of reach or slow to answer: every answer arrives, and none is sent twice."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from telegram.error import BadRequest, TimedOut

from bot.adapters.telegram import FloodLimits, TelegramAdapter, TelegramRateLimiter
from bot.core.messages import ChatRef
from tests.telegram.fake_bot_api import FakeBotAPI


async def test_a_network_blip_does_not_lose_an_answer(
    fake: FakeBotAPI, adapter: TelegramAdapter
) -> None:
    """Telegram is out of reach for a moment (connection refused) while the bot answers in
    a group: the answer arrives once it is back, instead of being logged and dropped."""
    group = fake.add_group("SMC Veghel")
    await fake.go_offline()

    async def back_soon() -> None:
        await asyncio.sleep(0.8)
        await fake.go_online()

    task = asyncio.create_task(back_soon())
    try:
        await adapter.messenger.send_text(ChatRef("telegram", str(group.id)), "Borrel vrijdag")
    finally:
        await task
    assert fake.texts(group) == ["Borrel vrijdag"]
    assert [r.status for r in fake.calls("sendMessage")] == [200]  # sent once, not doubled


async def test_only_what_is_harmless_twice_is_repeated_after_a_lost_answer() -> None:
    """A read timeout may mean Telegram got the request: a new post is not sent again
    (it could appear twice in the group), an edit or a toast is."""
    limiter = TelegramRateLimiter(
        FloodLimits(overall=None, per_chat=None, per_group=None, network_backoff=0.01)
    )
    calls: list[str] = []

    async def flaky(endpoint: str, cause: Exception) -> bool:
        calls.append(endpoint)
        if calls.count(endpoint) == 1:
            raise TimedOut() from cause
        return True

    async def call(endpoint: str, cause: Exception) -> object:
        data = {"chat_id": -5}
        return await limiter.process_request(flaky, (endpoint, cause), {}, endpoint, data, None)

    with pytest.raises(TimedOut):
        await call("sendMessage", httpx.ReadTimeout("slow"))
    assert await call("editMessageText", httpx.ReadTimeout("slow")) is True
    assert await call("sendPoll", httpx.ConnectTimeout("unreachable")) is True  # never sent
    with pytest.raises(BadRequest):
        await limiter.process_request(_bad_request, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert calls == ["sendMessage", "editMessageText", "editMessageText", "sendPoll", "sendPoll"]


async def _bad_request() -> bool:
    raise BadRequest("Bad Request: message text is empty")
