"""A chapter in an end-to-end encrypted room, as Element makes every private room (issue 12):
members whose clients encrypt, against the real Synapse and the real core."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.adapters.matrix.content import POLL_START
from tests.matrix.conftest import START, MakeBot, MakeCryptoMember, RealCore
from tests.matrix.mx_crypto_members import CryptoMember
from tests.matrix.mx_synapse import SynapseServer
from tests.matrix.test_matrix_e2e import local
from tests.matrix.test_matrix_process import BotProcess, write_config


async def encrypted_room_with_bot(owner: CryptoMember, bot_id: str,
                                  *others: CryptoMember) -> str:
    """`owner` makes a private room with encryption on from the start and invites the bot
    and `others`; returns once all have joined."""
    room = await owner.create_encrypted_room([bot_id, *(m.user_id for m in others)])
    for other in others:
        await other.wait_for_invite()
        await other.join(room)
        await owner.wait_for_join(room, other.user_id)
    await owner.wait_for_join(room, bot_id, within=30)
    return room


async def ask(member: CryptoMember, room: str, bot_id: str, text: str, expect: str,
              within: float = 30) -> dict[str, Any]:
    """`member` sends `text` (encrypted); the bot's answer containing `expect`, decrypted."""
    mark = len(member.timeline)
    await member.send_text(room, text)
    return await member.wait_for_text(bot_id, room, contains=expect, within=within, after=mark)


def all_decrypted(member: CryptoMember, bot_id: str, room: str | None = None) -> None:
    """Everything the bot said arrived encrypted and decrypted on the member's client."""
    said = member.events_from(bot_id, room)
    assert said, "the bot said nothing"
    plain = [e for e in said if not e.get("encrypted") and e.get("type") != "m.reaction"]
    assert plain == [], f"sent in the clear: {plain}"
    assert member.undecryptable(room) == [], "some of the bot's events didn't decrypt"


async def test_a_chapter_in_an_encrypted_room_from_setup_to_the_reminder_dm(
        make_bot: MakeBot, make_crypto_member: MakeCryptoMember, real_core: RealCore,
        tmp_path: Path) -> None:
    bot = await make_bot(core_factory=real_core, store_dir=str(tmp_path / "bot-store"),
                         dm_invite_timeout_s=30)
    core, clock = real_core.core, real_core.clock
    assert core is not None
    alice, bob = await make_crypto_member("alice"), await make_crypto_member("bob")
    room = await encrypted_room_with_bot(alice, bot.user_id, bob)

    await ask(alice, room, bot.user_id, "!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en",
              "SMC Den Bosch")
    d1, d2 = START + timedelta(days=5), START + timedelta(days=6)
    await alice.send_text(room, f"!newmeetup Tweetup #1; {local(d1)} | {local(d2)}; Verkadefabriek")
    _, start = await bob.wait_for(lambda r, e: r == room and e.get("type") == POLL_START
                                  and bool(e.get("decrypted")))
    first = start["content"][POLL_START]["answers"][0]["id"]
    await bob.vote(room, start["event_id"], [first])
    closing = await ask(alice, room, bot.user_id, "!closepoll", "Tweetup #1 is on")
    assert "1 vote" in closing["content"]["body"] or ": 1" in closing["content"]["body"]
    await ask(bob, room, bot.user_id, "!rsvp yes", "Bob is going to Tweetup #1")
    who = await ask(alice, room, bot.user_id, "!who", "Going (1)")
    assert "Bob" in who["content"]["body"]

    async def accept() -> None:
        dm, _invite = await bob.wait_for_invite(within=60)
        await bob.join(dm)

    accepting = asyncio.create_task(accept())
    try:
        clock.set(d1 - timedelta(hours=24) + timedelta(minutes=1))
        await core.run_due()
        reminder = await bob.wait_for_text(bot.user_id, contains="Reminder: Tweetup #1",
                                           within=60)
    finally:
        accepting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await accepting
    assert reminder["encrypted"] and reminder["decrypted"]
    dm_room = next(r for r, e in bob.timeline if e is reminder)
    assert dm_room != room
    state = await bob.raw("GET", f"/_matrix/client/v3/rooms/{dm_room}/state/m.room.encryption/")
    assert state["algorithm"] == "m.megolm.v1.aes-sha2"  # the bot made the DM room encrypted
    for member in (alice, bob):
        all_decrypted(member, bot.user_id)


async def test_a_new_device_of_a_member_can_read_the_answers(
        make_bot: MakeBot, make_crypto_member: MakeCryptoMember, real_core: RealCore,
        tmp_path: Path) -> None:
    bot = await make_bot(core_factory=real_core, store_dir=str(tmp_path / "bot-store"))
    alice, bob = await make_crypto_member("alice"), await make_crypto_member("bob")
    room = await encrypted_room_with_bot(alice, bot.user_id, bob)
    await ask(alice, room, bot.user_id, "!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en",
              "SMC Den Bosch")
    laptop = await bob.new_device()  # bob signs in on his laptop, after the bot has spoken
    await ask(alice, room, bot.user_id, "!meetups", "No meetups planned")
    answer = await ask(laptop, room, bot.user_id, "!help", "What I can do", within=45)
    assert answer["decrypted"]
    all_decrypted(laptop, bot.user_id, room)


async def test_a_message_whose_key_comes_10_s_late_is_answered_once_after_it_comes(
        make_bot: MakeBot, make_crypto_member: MakeCryptoMember, real_core: RealCore,
        tmp_path: Path) -> None:
    bot = await make_bot(core_factory=real_core, store_dir=str(tmp_path / "bot-store"))
    alice = await make_crypto_member("alice")
    room = await encrypted_room_with_bot(alice, bot.user_id)
    await ask(alice, room, bot.user_id, "!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en",
              "SMC Den Bosch")
    mark = len(alice.timeline)
    sent_at = time.monotonic()
    await alice.send_text_with_late_key(room, "!meetups", delay_s=10)
    answer = await alice.wait_for_text(bot.user_id, room, contains="No meetups planned",
                                       within=60, after=mark)
    assert time.monotonic() - sent_at >= 10  # not before the key came
    await ask(alice, room, bot.user_id, "!help", "What I can do")  # later: nothing else came
    answers = [e for _r, e in alice.timeline[mark:]
               if e.get("sender") == bot.user_id and "No meetups planned"
               in (e.get("content") or {}).get("body", "")]
    assert answers == [answer]


async def test_sigkill_and_restart_the_same_device_reads_on_and_answers_nothing_twice(
        synapse: SynapseServer, make_crypto_member: MakeCryptoMember, tmp_path: Path) -> None:
    """The real `irlbot run`, its keys in the default store folder beside its config file."""
    account = synapse.register(synapse.unique("bot"))
    config = tmp_path / "cfg.toml"
    write_config(config, synapse, account, tmp_path / "irl.db")
    process = BotProcess(config, tmp_path / "bot.log")
    bot_id = account.user_id
    try:
        process.start()
        alice = await make_crypto_member("alice")
        room = await encrypted_room_with_bot(alice, bot_id)
        await ask(alice, room, bot_id, "!setup SMC Veghel; Veghel; Europe/Amsterdam; en",
                  "SMC Veghel", within=60)
        process.kill()  # the moment the answer is out
        assert (tmp_path / "irl-matrix-store").is_dir()

        mark = len(alice.timeline)
        await alice.send_text(room, "!meetups")  # while the bot is dead
        process.start()
        await alice.wait_for_text(bot_id, room, contains="No meetups planned", within=60,
                                  after=mark)
        await alice.send_text(room, "!help")
        process.kill()  # with the command just sent: handled by the next start, once
        process.start()
        await alice.wait_for_text(bot_id, room, contains="What I can do", within=60, after=mark)
        await ask(alice, room, bot_id, "!language en", "private chat", within=60)
        await asyncio.sleep(1.5)  # room for a duplicate to show up, if there were one
    finally:
        process.stop()
    answers = alice.bodies(room, bot_id)
    assert len(answers) == 4, answers
    assert sum("SMC Veghel" in a for a in answers) == 1
    all_decrypted(alice, bot_id, room)
    devices = alice.client.device_store.active_user_devices(bot_id)
    assert len(list(devices)) == 1  # one device for good: the same after each restart


async def test_the_device_moves_with_the_lead_through_the_database(
        make_bot: MakeBot, make_crypto_member: MakeCryptoMember, real_core: RealCore,
        tmp_path: Path) -> None:
    """A copy on another machine (an empty store folder) that takes over with the same
    database is the same device, with the room keys the first one got: it reads on."""
    first = await make_bot(core_factory=real_core, store_dir=str(tmp_path / "machine-1"))
    alice = await make_crypto_member("alice")
    room = await encrypted_room_with_bot(alice, first.user_id)
    await ask(alice, room, first.user_id,
              "!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en", "SMC Den Bosch")
    device = first.adapter.client.device_id
    await first.adapter.stop()
    second = await make_bot(core_factory=real_core, store=first.store,
                            settings=replace(first.settings, store_dir=str(tmp_path / "machine-2")))
    assert second.adapter.client.device_id == device
    # The same megolm session as before: only the keys handed over can read it.
    await ask(alice, room, first.user_id, "!meetups", "No meetups planned")
    all_decrypted(alice, first.user_id, room)
    assert len(list(alice.client.device_store.active_user_devices(first.user_id))) == 1


async def test_a_message_whose_key_never_comes_is_answered_once_with_how_to_fix_it(
        make_bot: MakeBot, make_crypto_member: MakeCryptoMember, real_core: RealCore,
        tmp_path: Path) -> None:
    bot = await make_bot(core_factory=real_core, store_dir=str(tmp_path / "bot-store"),
                         undecryptable_after_s=3)
    alice = await make_crypto_member("alice")
    room = await encrypted_room_with_bot(alice, bot.user_id)
    mark = len(alice.timeline)
    await alice.send_text_with_late_key(room, "!help", delay_s=3600)  # the key never comes
    notice = await alice.wait_for_text(bot.user_id, room, contains="couldn't read your message",
                                       within=30, after=mark)
    assert notice["content"]["body"].startswith("Alice, I couldn't read your message")
    await ask(alice, room, bot.user_id, "!meetups", "not a chapter")  # later: nothing else came
    told = [e for _r, e in alice.timeline[mark:] if e.get("sender") == bot.user_id
            and "couldn't read" in (e.get("content") or {}).get("body", "")]
    assert told == [notice]
