"""The fake Bot API itself, spoken to over plain HTTP as any client would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.telegram.fake_bot_api import FakeBotAPI, FakeLimits, Window


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, fake: FakeBotAPI, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    # Form-encoded, JSON-serializing non-strings: how python-telegram-bot sends parameters.
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    async with http.post(f"{fake.base_url}{fake.token}/{method}", data=form) as resp:
        return resp.status, await resp.json()


async def test_get_me_and_wrong_token(fake: FakeBotAPI, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, fake, "getMe")
    assert status == 200 and body["result"]["username"] == "irl_test_bot"
    assert body["result"]["is_bot"] is True
    async with http.post(f"{fake.base_url}123:wrong/getMe") as resp:
        assert resp.status == 401
    status, body = await call(http, fake, "sendSticker")
    assert status == 404 and body == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_get_updates_long_polls_and_confirms_by_offset(
    fake: FakeBotAPI, http: aiohttp.ClientSession
) -> None:
    alice = fake.add_user("Alice")
    waiting = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    fake.start_bot(alice, "hi")
    _status, body = await asyncio.wait_for(waiting, 2)
    (update,) = body["result"]
    message = update["message"]
    assert message["text"] == "/start hi" and message["chat"]["type"] == "private"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]

    _, again = await call(http, fake, "getUpdates", timeout=0)
    assert again["result"] == [update]  # not confirmed yet
    _, after = await call(http, fake, "getUpdates", offset=update["update_id"] + 1, timeout=0)
    assert after["result"] == []


async def test_allowed_updates_and_chat_member(fake: FakeBotAPI, http: aiohttp.ClientSession) -> None:
    owner, bob = fake.add_user("Olga"), fake.add_user("Bob")
    group = fake.add_group("G", members=[bob], creator=owner, bot_admin=True)
    fake.set_admin(group, bob)
    _, body = await call(http, fake, "getUpdates", timeout=0)
    assert body["result"] == []  # chat_member only when asked for by name

    fake.set_admin(group, bob, admin=False)
    _, body = await call(http, fake, "getUpdates", allowed_updates=["chat_member"])
    (update,) = body["result"]
    change = update["chat_member"]
    assert change["old_chat_member"]["status"] == "administrator"
    assert change["new_chat_member"]["status"] == "member"


async def test_privacy_mode(fake: FakeBotAPI) -> None:
    alice = fake.add_user("Alice")
    group = fake.add_group("G", members=[alice])
    assert fake.user_sends(alice, group, "/who") is not None
    assert fake.user_sends(alice, group, "/who@irl_test_bot") is not None
    assert fake.user_sends(alice, group, "/who@other_bot") is None
    assert fake.user_sends(alice, group, "just chatting") is None


async def test_private_chats_need_start(fake: FakeBotAPI, http: aiohttp.ClientSession) -> None:
    alice, bob = fake.add_user("Alice"), fake.add_user("Bob")
    status, body = await call(http, fake, "sendMessage", chat_id=alice.id, text="hi")
    assert status == 403
    assert body["description"] == "Forbidden: bot can't initiate conversation with a user"
    fake.start_bot(bob)
    fake.block_bot(bob)
    status, body = await call(http, fake, "sendMessage", chat_id=bob.id, text="hi")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    status, body = await call(http, fake, "sendMessage", chat_id=999, text="hi")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


async def test_limits_answer_429_and_record_violations(http: aiohttp.ClientSession) -> None:
    limits = FakeLimits(overall=None, per_chat=Window(2, 10.0), per_group=None)
    async with FakeBotAPI(limits=limits) as fake:
        group = fake.add_group("G")
        other = fake.add_group("H")
        codes = [(await call(http, fake, "sendMessage", chat_id=group.id, text=f"m{i}"))[0] for i in range(3)]
        assert codes == [200, 200, 429]
        _, body = await call(http, fake, "sendMessage", chat_id=group.id, text="again")
        assert body["error_code"] == 429 and body["parameters"]["retry_after"] == 10
        assert body["description"] == "Too Many Requests: retry after 10"
        status, _ = await call(http, fake, "sendMessage", chat_id=other.id, text="elsewhere")
        assert status == 200  # the window is per chat

        (window,) = fake.retry_windows
        assert window.scope == group.id and window.reason == "per chat"
        assert [r.params["text"] for r in fake.violations] == ["again"]


async def test_poll_limits(fake: FakeBotAPI, http: aiohttp.ClientSession) -> None:
    group = fake.add_group("G")
    options = [{"text": f"o{i}"} for i in range(13)]
    status, body = await call(http, fake, "sendPoll", chat_id=group.id, question="Q?", options=options)
    assert status == 400 and body["description"] == "Bad Request: POLL_ANSWERS_INVALID"
    status, body = await call(http, fake, "sendPoll", chat_id=group.id, question="Q?", options=options[:12])
    assert status == 200 and len(body["result"]["poll"]["options"]) == 12
    assert body["result"]["poll"]["is_anonymous"] is True  # the Bot API default


async def test_edit_not_modified(fake: FakeBotAPI, http: aiohttp.ClientSession) -> None:
    group = fake.add_group("G")
    _, sent = await call(http, fake, "sendMessage", chat_id=group.id, text="same")
    message_id = sent["result"]["message_id"]
    status, body = await call(
        http, fake, "editMessageText", chat_id=group.id, message_id=message_id, text="same"
    )
    assert status == 400 and "message is not modified" in body["description"]


async def test_a_second_poller_ends_the_first(fake: FakeBotAPI, http: aiohttp.ClientSession) -> None:
    first = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    _, second = await call(http, fake, "getUpdates", timeout=0)
    status, body = await asyncio.wait_for(first, 2)
    assert status == 409 and "terminated by other getUpdates" in body["description"]
    assert second["ok"] is True


async def test_webhook_blocks_get_updates(fake: FakeBotAPI, http: aiohttp.ClientSession) -> None:
    await call(http, fake, "setWebhook", url="http://127.0.0.1:9/hook", secret_token="s3cret")
    status, body = await call(http, fake, "getUpdates")
    assert status == 409 and "webhook is active" in body["description"]
    await call(http, fake, "deleteWebhook")
    status, _ = await call(http, fake, "getUpdates")
    assert status == 200
