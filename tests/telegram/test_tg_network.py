"""Edge cases found in review, each as a member or an operator would meet it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from telegram.error import BadRequest, TimedOut

from bot.adapters.telegram import FloodLimits, TelegramAdapter, TelegramRateLimiter
from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.messages import ChatRef
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_support import RecordingCore

TZ = ZoneInfo("Europe/Amsterdam")


def tg(chat_id: int) -> ChatRef:
    return ChatRef("telegram", str(chat_id))




async def test_rsvp_button_from_before_the_supergroup_upgrade_still_works(
    fake: FakeBotAPI, wired: tuple[TelegramAdapter, Core], clock: VirtualClock
) -> None:
    """The announcement was posted while the chat was a basic group. Telegram keeps that
    message in the old chat, so a tap on its buttons arrives with the old chat id; the
    chapter now lives under the supergroup's id. The tap must still count."""
    alice = fake.add_user("Alice", language_code="en")
    bob = fake.add_user("Bob", language_code="en")
    group = fake.add_group("SMC Den Bosch", members=[bob], creator=alice)
    fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await fake.wait_for(lambda: len(fake.texts(group)) == 1, what="setup answer")
    when = (clock.now() + timedelta(days=5)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    fake.user_sends(alice, group, f"/newmeetup Borrel; {when}; Café de Unie")
    await fake.wait_for(lambda: any(m.buttons for m in fake.bot_messages(group)), what="announcement")
    announcement = next(m for m in fake.bot_messages(group) if m.buttons)

    supergroup = fake.migrate_to_supergroup(group, by=alice)
    await fake.wait_for(lambda: fake.pending_updates == 0, what="migration delivered")
    fake.user_sends(alice, supergroup, "/meetups")  # handled after the migration notes
    await fake.wait_for(lambda: len(fake.texts(supergroup)) == 1, what="/meetups in the supergroup")

    going = fake.press(bob, announcement, data=announcement.buttons[0][1])
    await fake.wait_for(lambda: fake.answer_to(going) is not None, what="toast")
    toast = fake.answer_to(going)
    assert toast is not None and "Bob is going" in toast.text


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


async def test_an_anonymous_admins_vote_is_the_groups_not_channel_bots(
    fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    """Anonymous admins of two chapters vote: each vote belongs to its own group, not to
    one shared @Channel_Bot "person" whose votes would overwrite each other."""
    alice = fake.add_user("Alice")
    den_bosch = fake.add_group("Den Bosch", admins=[alice])
    veghel = fake.add_group("Veghel", admins=[alice])
    first = await adapter.messenger.send_poll(tg(den_bosch.id), "Wanneer?", ["do", "vr"], multiple=True)
    second = await adapter.messenger.send_poll(tg(veghel.id), "Wanneer?", ["za", "zo"], multiple=True)
    fake.vote(alice, first.platform_poll_id, [0], as_chat=den_bosch)
    fake.vote(alice, second.platform_poll_id, [1], as_chat=veghel)
    await fake.wait_for(lambda: len(core.poll_answers) == 2, what="two votes")
    voters = {a.platform_poll_id: a.voter.id for a in core.poll_answers}
    assert voters == {first.platform_poll_id: str(den_bosch.id), second.platform_poll_id: str(veghel.id)}
