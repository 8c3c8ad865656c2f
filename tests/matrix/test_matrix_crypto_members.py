"""The encrypting test members themselves, without the bot: what issue 12's tests build on."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from tests.matrix.conftest import MakeCryptoMember
from tests.matrix.mx_crypto_members import POLL_RESPONSE, CryptoMember, poll_response


async def encrypted_room(owner: CryptoMember, *others: CryptoMember, is_direct: bool = False) -> str:
    room = await owner.create_encrypted_room([m.user_id for m in others], is_direct=is_direct)
    for other in others:
        invited, invite = await other.wait_for_invite()
        assert invited == room
        assert invite["content"].get("is_direct", False) is is_direct
        await other.join(room)
        await owner.wait_for_join(room, other.user_id)
    return room


async def raw_event(member: CryptoMember, room: str, event_id: str) -> dict[str, Any]:
    """The event as the server holds it."""
    event: dict[str, Any] = await member.raw(
        "GET", f"/_matrix/client/v3/rooms/{quote(room, safe='')}/event/{quote(event_id, safe='')}")
    return event


async def test_two_members_exchange_texts_and_reactions_that_decrypt(
    make_crypto_member: MakeCryptoMember,
) -> None:
    alice, bob = await make_crypto_member("alice"), await make_crypto_member("bob")
    room = await encrypted_room(alice, bob)
    state = await alice.raw(
        "GET", f"/_matrix/client/v3/rooms/{quote(room, safe='')}/state/m.room.encryption/")
    assert state == {"algorithm": "m.megolm.v1.aes-sha2"}

    hello = await alice.send_text(room, "hello bob")
    got = await bob.wait_for_text(alice.user_id, room, "hello bob")
    assert got["event_id"] == hello
    assert got["encrypted"] and got["decrypted"] and not got["late"]
    on_server = await raw_event(bob, room, hello)
    assert on_server["type"] == "m.room.encrypted"
    assert "hello" not in str(on_server["content"])

    await bob.send_text(room, "hi alice")
    back = await alice.wait_for_text(bob.user_id, room, "hi alice")
    assert back["encrypted"] and back["decrypted"]

    reaction = await bob.react(room, hello, "👍")
    _, seen = await alice.wait_for(lambda _r, e: e.get("event_id") == reaction)
    assert seen["type"] == "m.reaction" and seen["encrypted"] and seen["decrypted"]
    assert seen["content"]["m.relates_to"] == {
        "rel_type": "m.annotation", "event_id": hello, "key": "👍"}
    assert (await raw_event(alice, room, reaction))["type"] == "m.room.encrypted"
    clear = await bob.react(room, hello, "🎉", encrypt=False)
    _, seen = await alice.wait_for(lambda _r, e: e.get("event_id") == clear)
    assert seen["type"] == "m.reaction" and not seen["encrypted"]
    assert not alice.undecryptable() and not bob.undecryptable()
    sent = alice.events_from(bob.user_id, room)
    assert [e["type"] for e in sent] == ["m.room.message", "m.reaction", "m.reaction"]
    assert [e["encrypted"] and e["decrypted"] for e in sent] == [True, True, False]


async def test_an_encrypted_dm_as_element_makes_it(make_crypto_member: MakeCryptoMember) -> None:
    alice, bob = await make_crypto_member("alice"), await make_crypto_member("bob")
    room = await encrypted_room(alice, bob, is_direct=True)
    direct = await alice.raw(
        "GET", f"/_matrix/client/v3/user/{quote(alice.user_id, safe='')}/account_data/m.direct")
    assert direct == {bob.user_id: [room]}
    await bob.send_text(room, "psst")
    got = await alice.wait_for_text(bob.user_id, room, "psst")
    assert got["encrypted"] and got["decrypted"]


async def test_a_poll_response_decrypts_with_its_type_and_content(
    make_crypto_member: MakeCryptoMember,
) -> None:
    alice, bob = await make_crypto_member("alice"), await make_crypto_member("bob")
    room = await encrypted_room(alice, bob)
    poll_id = await alice.send_text(room, "stand-in for a poll start")
    vote = await bob.vote(room, poll_id, ["answer-2"])
    _, got = await alice.wait_for(lambda _r, e: e.get("event_id") == vote)
    assert got["encrypted"] and got["decrypted"]
    assert got["type"] == POLL_RESPONSE
    assert got["content"] == poll_response(poll_id, ["answer-2"])
    on_server = await raw_event(alice, room, vote)
    assert on_server["type"] == "m.room.encrypted"
    # As Element sends it: the relation readable by the server, the answers not.
    assert on_server["content"]["m.relates_to"] == {
        "rel_type": "m.reference", "event_id": poll_id}
    assert "answer-2" not in str(on_server["content"])


async def test_a_message_whose_key_comes_late_decrypts_once_the_key_arrives(
    make_crypto_member: MakeCryptoMember,
) -> None:
    alice, bob = await make_crypto_member("alice"), await make_crypto_member("bob")
    room = await encrypted_room(alice, bob)
    sent_at = time.monotonic()
    late = await alice.send_text_with_late_key(room, "late news", delay_s=4)
    entry = await bob.wait_for_event(late)
    assert time.monotonic() - sent_at < 4, "arrived after the key was due; can't tell them apart"
    assert entry["encrypted"] and not entry["decrypted"]
    assert entry["type"] == "m.room.encrypted"
    assert bob.undecryptable(room) == [entry]

    # Meanwhile alice's ordinary messages are shared and decrypt as usual.
    await alice.send_text(room, "on time")
    on_time = await bob.wait_for_text(alice.user_id, room, "on time")
    assert on_time["decrypted"] and not on_time["late"]
    assert not entry["decrypted"]

    await bob.wait_until(lambda: bool(entry["decrypted"]), within=20)
    assert time.monotonic() - sent_at >= 4
    assert entry["type"] == "m.room.message" and entry["content"]["body"] == "late news"
    assert entry["late"] and entry["event_id"] == late and entry["sender"] == alice.user_id
    assert bob.undecryptable() == []
    await alice.late_keys_sent()
    # The sender's own device could read it all along.
    own = await alice.wait_for_event(late)
    assert own["decrypted"] and own["content"]["body"] == "late news"


async def test_a_new_device_decrypts_what_is_sent_after_it_logged_in(
    make_crypto_member: MakeCryptoMember,
) -> None:
    alice, bob = await make_crypto_member("alice"), await make_crypto_member("bob")
    room = await encrypted_room(alice, bob)
    await bob.send_text(room, "before")
    await alice.wait_for_text(bob.user_id, room, "before")

    phone = await alice.new_device()
    assert phone.user_id == alice.user_id and phone.device_id != alice.device_id
    await bob.wait_until(lambda: bob.knows_device(alice.user_id, phone.device_id))
    await bob.send_text(room, "after")
    got = await phone.wait_for_text(bob.user_id, room, "after")
    assert got["encrypted"] and got["decrypted"]
    assert (await alice.wait_for_text(bob.user_id, room, "after"))["decrypted"]

    await phone.send_text(room, "from my phone")
    reply = await bob.wait_for_text(alice.user_id, room, "from my phone")
    assert reply["decrypted"]
