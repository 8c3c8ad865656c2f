"""Restarts, gaps, rate limits, lost connections, encrypted rooms, who may invite."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.adapters.matrix import MatrixMessenger, MatrixSettings, MemoryStateStore
from bot.adapters.matrix import adapter as adapter_module
from bot.core.messages import Inbound
from bot.core.settings import CoreSettings
from tests.matrix.conftest import MakeBot, MakeMember, RealCore
from tests.matrix.mx_helpers import is_member_join, is_text_from, room_with_bot
from tests.matrix.mx_proxy import TcpRelay
from tests.matrix.mx_recorder import RecordingCore
from tests.matrix.mx_synapse import SynapseServer


async def test_restart_resumes_from_the_stored_sync_token(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot()
    alice = await make_member("alice")
    room = await room_with_bot(alice, bot.user_id)
    await alice.say(room, "!one")
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !one"))
    await bot.adapter.stop()

    await alice.say(room, "!two")  # while the bot is down
    again = await make_bot(settings=bot.settings, store=bot.store)
    await again.core.wait_until(lambda: "/two" in again.core.texts())
    await alice.say(room, "!three")
    await again.core.wait_until(lambda: "/three" in again.core.texts())
    assert again.core.texts() == ["/two", "/three"]
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !three"))
    assert alice.bodies(room, bot.user_id) == ["ok !one", "ok !two", "ok !three"]


class TokenLosingStore(MemoryStateStore):
    """Drops sync-token writes while `losing`: as if the process died right after
    answering, before it could save how far it had read."""

    losing = False

    async def set(self, key: str, value: str) -> None:
        if key == "next_batch" and self.losing:
            return
        await super().set(key, value)


async def test_batch_read_again_after_a_crash_is_not_answered_again(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    store = TokenLosingStore()
    bot = await make_bot(store=store)
    alice = await make_member("alice")
    room = await room_with_bot(alice, bot.user_id)
    await alice.say(room, "!first")
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !first"))
    store.losing = True
    await alice.say(room, "!second")
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !second"))
    await bot.adapter.stop()
    store.losing = False

    again = await make_bot(settings=bot.settings, store=store)  # reads "!second" again
    await alice.say(room, "!third")
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !third"))
    assert again.core.texts() == ["/third"]
    assert alice.bodies(room, bot.user_id) == ["ok !first", "ok !second", "ok !third"]


class DyingCore(RecordingCore):
    """Freezes on "/die", before or after answering: a process killed mid-command."""

    def __init__(self, answer_first: bool) -> None:
        super().__init__()
        self.answer_first = answer_first
        self.dying = asyncio.Event()

    async def handle_message(self, msg: Inbound) -> None:
        if msg.text == "/die":
            if self.answer_first and self.messenger is not None:
                self.first_delivery(msg.message_id)  # the core commits, then answers
                await self.messenger.send_text(msg.chat, "ok /die")
            self.dying.set()
            await asyncio.Event().wait()
        await super().handle_message(msg)


@pytest.mark.parametrize("answered", [False, True], ids=["before-answer", "after-answer"])
async def test_crash_inside_a_command_neither_loses_nor_doubles_it(
    make_bot: MakeBot, make_member: MakeMember, answered: bool
) -> None:
    dying = DyingCore(answer_first=answered)

    def build(messenger: MatrixMessenger) -> DyingCore:
        dying.messenger = messenger
        return dying

    bot = await make_bot(core_factory=build)
    alice = await make_member("alice")
    room = await room_with_bot(alice, bot.user_id)
    await alice.say(room, "!die")
    await asyncio.wait_for(dying.dying.wait(), 20)
    if answered:
        await alice.wait_for(is_text_from(bot.user_id, room, "ok !die"))
    await bot.adapter.stop(grace_s=0.2)  # dies with "!die" in hand and the token unsaved

    again = await make_bot(settings=bot.settings, store=bot.store)
    await alice.say(room, "!after")
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !after"))
    assert again.core.texts() == (["/after"] if answered else ["/die", "/after"])
    assert alice.bodies(room, bot.user_id) == ["ok !die", "ok !after"]


async def test_history_from_before_the_bot_was_there_is_not_answered(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot()
    alice = await make_member("alice")
    room = await alice.create_room()
    await alice.say(room, "!old")
    await alice.invite(room, bot.user_id)
    await alice.wait_for(is_member_join(bot.user_id))
    await alice.say(room, "!new")
    await bot.core.wait_until(lambda: "/new" in bot.core.texts())

    # A first start with no stored state (a wiped database) does not answer the backlog.
    await bot.adapter.stop()
    await alice.say(room, "!backlog")
    fresh = await make_bot(settings=bot.settings, store=MemoryStateStore())
    await alice.say(room, "!after")
    await fresh.core.wait_until(lambda: "/after" in fresh.core.texts())
    assert bot.core.texts() == ["/new"]
    assert fresh.core.texts() == ["/after"]


async def test_limited_sync_is_back_filled(
    make_bot: MakeBot, make_member: MakeMember, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await make_bot(timeline_limit=3)
    alice = await make_member("alice")
    room = await room_with_bot(alice, bot.user_id)
    await bot.adapter.stop()
    for i in range(12):
        await alice.say(room, f"!cmd {i}")
    caplog.set_level(logging.INFO, logger="bot.adapters.matrix")
    again = await make_bot(settings=bot.settings, store=bot.store)
    await again.core.wait_until(lambda: len(again.core.messages) == 12)
    assert again.core.texts() == [f"/cmd {i}" for i in range(12)]
    assert any("back-filled" in r.getMessage() for r in caplog.records)


@pytest.mark.long
async def test_twenty_commands_under_normal_rate_limits(
    make_bot: MakeBot, make_member: MakeMember, real_core: RealCore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.adapters.matrix")
    # Synapse's limit is the subject here, not the core's per-member limit (10 a minute).
    real_core.settings = CoreSettings(commands_per_minute=0)
    # Synapse's defaults for this account: 0.2 messages/s after a burst of 10.
    bot = await make_bot(unlimited=False, core_factory=real_core)
    alice = await make_member("alice")
    room = await room_with_bot(alice, bot.user_id)
    started = time.monotonic()
    for i in range(20):
        await alice.say(room, f"!rsvp maybe +{i}" if i % 2 else "!meetups")
    assert time.monotonic() - started < 5  # "within a few seconds"
    await alice.wait_until(lambda: len(alice.bodies(room, bot.user_id)) >= 20, within=110)
    await asyncio.sleep(1)  # room for a 21st, if there were one
    assert len(alice.bodies(room, bot.user_id)) == 20
    assert any("M_LIMIT_EXCEEDED" in r.getMessage() for r in caplog.records)


async def test_lost_connection_is_retried_and_logged(
    synapse: SynapseServer, make_bot: MakeBot, make_member: MakeMember,
    caplog: pytest.LogCaptureFixture,
) -> None:
    relay = TcpRelay(synapse.port)
    await relay.start()
    account = synapse.register(synapse.unique("bot"))
    settings = MatrixSettings(homeserver=relay.url, user_id=account.user_id,
                              password=account.password, sync_timeout_ms=2000)
    bot = await make_bot(settings=settings)
    alice = await make_member("alice")
    room = await room_with_bot(alice, bot.user_id)
    await relay.cut()
    await alice.say(room, "!during")
    await asyncio.sleep(2.5)
    await relay.start()
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !during"), within=30)
    assert any("connection problem" in r.getMessage() for r in caplog.records)
    await relay.cut()


async def test_rejected_token_logs_in_again(
    synapse: SynapseServer, make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot()
    alice = await make_member("alice")
    room = await room_with_bot(alice, bot.user_id)
    device = await bot.store.get("device_id")
    synapse.request("POST", "/_matrix/client/v3/logout",
                    {}, token=bot.adapter.client.access_token)
    await alice.say(room, "!still-here")
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !still-here"), within=30)
    assert await bot.store.get("device_id") == device  # the same device, logged in again


async def test_encrypted_room_is_told_once_and_others_still_served(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    bot = await make_bot()
    alice = await make_member("alice")
    encryption = {"type": "m.room.encryption", "state_key": "",
                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
    secret = await room_with_bot(alice, bot.user_id, initial_state=[encryption])
    await alice.wait_for(is_text_from(bot.user_id, secret, "encrypted"))
    await alice.send(secret, "m.room.encrypted", {
        "algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgA", "sender_key": "k",
        "session_id": "s", "device_id": "D"})
    plain = await room_with_bot(alice, bot.user_id)
    await alice.say(plain, "!help")
    await alice.wait_for(is_text_from(bot.user_id, plain, "ok !help"))
    assert len(alice.bodies(secret, bot.user_id)) == 1

    # A room that turns encryption on later hears it too, once.
    await alice.send_state(plain, "m.room.encryption", encryption["content"])
    await alice.wait_for(is_text_from(bot.user_id, plain, "encrypted"))


async def test_invites_only_from_the_allow_list(
    make_bot: MakeBot, make_member: MakeMember
) -> None:
    alice, mallory = await make_member("alice"), await make_member("mallory")
    bot = await make_bot(allowed_inviters=(alice.user_id,))
    bad = await mallory.create_room([bot.user_id])
    await mallory.wait_for(lambda r, e: r == bad and e.get("type") == "m.room.member"
                           and e.get("state_key") == bot.user_id
                           and e["content"]["membership"] == "leave")
    good = await room_with_bot(alice, bot.user_id)
    started = time.monotonic()
    await alice.say(good, "!ok")
    await alice.wait_for(is_text_from(bot.user_id, good, "ok !ok"))
    assert time.monotonic() - started < 10


async def test_homeserver_down_at_start_is_waited_for(
    synapse: SynapseServer, make_bot: MakeBot, make_member: MakeMember,
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:

    monkeypatch.setattr(adapter_module, "STARTUP_PATIENCE_S", 1.0)
    relay = TcpRelay(synapse.port)  # not started: nothing listens there yet
    account = synapse.register(synapse.unique("bot"))
    settings = MatrixSettings(homeserver=relay.url, user_id=account.user_id,
                              password=account.password, sync_timeout_ms=2000)
    bot = await make_bot(settings=settings)  # returns although it can't log in yet
    assert not bot.adapter.ready.is_set()
    assert any("still trying" in r.getMessage() for r in caplog.records)
    await relay.start()
    alice = await make_member("alice")
    room = await room_with_bot(alice, bot.user_id)
    await alice.say(room, "!hello")
    await alice.wait_for(is_text_from(bot.user_id, room, "ok !hello"), within=30)
    await relay.cut()
