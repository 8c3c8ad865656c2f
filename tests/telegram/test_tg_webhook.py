"""Webhook mode: Telegram (the fake) posts updates; posts without the secret are refused."""

from __future__ import annotations

import socket

import aiohttp

from bot.adapters.telegram import FloodLimits, TelegramAdapter, TelegramSettings
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_support import RecordingCore

SECRET = "s3cret-Token_1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode(fake: FakeBotAPI, client_limits: FloodLimits) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = TelegramSettings(
        token=fake.token,
        base_url=fake.base_url,
        mode="webhook",
        webhook_url=url,
        listen="127.0.0.1",
        port=port,
        secret_token=SECRET,
    )
    core = RecordingCore()
    adapter = TelegramAdapter(settings, limits=client_limits)
    adapter.bind(core)
    await adapter.start()
    try:
        assert fake.webhook is not None
        assert (fake.webhook.url, fake.webhook.secret_token) == (url, SECRET)
        assert not fake.calls("getUpdates")

        alice = fake.add_user("Alice")
        fake.start_bot(alice)
        await fake.wait_for(lambda: len(core.messages) == 1, what="update via webhook")
        assert core.messages[0].text == "/start" and core.messages[0].is_private

        forged = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": alice.id, "type": "private", "first_name": "Alice"},
                "from": {"id": alice.id, "is_bot": False, "first_name": "Alice"},
                "text": "/cancel",
            },
        }
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=forged, headers=headers) as resp:
                    assert resp.status == 403
        fake.user_sends(alice, fake.private_chat(alice), "/who")
        await fake.wait_for(lambda: len(core.messages) == 2)
        assert [m.text for m in core.messages] == ["/start", "/who"]
    finally:
        await adapter.stop()
