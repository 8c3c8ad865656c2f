"""People in the tests who use end-to-end encryption the way Element does.

A `CryptoMember` is a matrix-nio client with encryption on: its own device and crypto store
(in pytest's tmp_path), keys uploaded, nio's own `sync_forever` in the background (so room
keys sent to the device and device-list changes are handled by nio), and every device it sees
trusted on first use. Rooms it creates are encrypted from the start, and everything it sends
into an encrypted room is encrypted, reactions included (as Element does; nio's `room_send`
would leave reactions in the clear).

`timeline` holds what arrived, decrypted where possible, as `(room_id, event dict)`. Each
dict is the event as the member's client sees it (type, content, sender, event_id, ...) plus
three flags of the harness's own:

- `encrypted`: it arrived as `m.room.encrypted`;
- `decrypted`: its plaintext is known (type and content are the decrypted ones);
- `late`: it was first undecryptable and was decrypted when its room key arrived later.

An event whose key is missing stays in the timeline as `m.room.encrypted` with
`decrypted=False`; after every sync the member retries such events for which a room key has
arrived since, and updates their dicts in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import uuid4

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    LocalProtocolError,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomPreset,
    SyncResponse,
)
from nio.api import Api
from nio.crypto import ENCRYPTION_ENABLED

from bot.adapters.matrix.calls import call, raw_call
from bot.waiting import wait_set
from tests.matrix.mx_members import Event
from tests.matrix.mx_synapse import Account, SynapseServer

log = logging.getLogger(__name__)

MEGOLM = "m.megolm.v1.aes-sha2"
ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}
POLL_RESPONSE = "org.matrix.msc3381.poll.response"


def poll_response(poll_id: str, answer_ids: Iterable[str]) -> dict[str, Any]:
    """The content Element sends to vote in an MSC3381 poll."""
    return {"m.relates_to": {"rel_type": "m.reference", "event_id": poll_id},
            POLL_RESPONSE: {"answers": list(answer_ids)}}


class CryptoMember:
    """One device of one account, with encryption on. Create with `start()`, end with `close()`."""

    def __init__(self, server: SynapseServer, account: Account, store_root: Path) -> None:
        if not ENCRYPTION_ENABLED:
            raise RuntimeError("matrix-nio was installed without its e2e extra")
        self.server = server
        self.account = account
        self.user_id = account.user_id
        self.device_id = account.device_id
        self.store_path = store_root / f"{account.user_id.split(':')[0].lstrip('@')}-{account.device_id}"
        self.store_path.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(
            server.url, account.user_id, device_id=account.device_id,
            store_path=str(self.store_path),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
        )
        self.timeline: list[tuple[str, Event]] = []  # (room_id, event), in arrival order
        self.invites: list[tuple[str, Event]] = []  # (room_id, the invite member event)
        self._pending: dict[str, tuple[str, MegolmEvent, Event]] = {}  # event_id -> undecrypted
        self._store_root = store_root
        self._arrived = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._sync_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []  # late key shares
        self._devices: list[CryptoMember] = []  # new_device() children, closed with us

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Loads the store, uploads the device's keys, syncs once, then syncs in the background."""
        self.client.restore_login(self.user_id, self.device_id, self.account.access_token)
        self.client.add_response_callback(self._on_sync, SyncResponse)
        if self.client.should_upload_keys:
            await call("keys upload", self.client.keys_upload)
        first: SyncResponse = await call("first sync", lambda: self.client.sync(timeout=0, full_state=True))
        self._record_invites(first)
        self._trust_all()
        self._sync_task = asyncio.create_task(self.client.sync_forever(
            timeout=5000, sync_filter={"room": {"timeline": {"limit": 200}}}))

    async def close(self) -> None:
        for device in self._devices:
            await device.close()
        for task in [*self._tasks, *([self._sync_task] if self._sync_task else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.client.close()
        database = getattr(self.client.store, "database", None)  # nio's SqliteStore (peewee)
        if database is not None:
            database.close()

    async def new_device(self) -> CryptoMember:
        """The same account logged in again: a new device with a store of its own."""
        account = await _login(self.server, self.account)
        device = CryptoMember(self.server, account, self._store_root)
        await device.start()
        self._devices.append(device)
        return device

    # -- what arrives ----------------------------------------------------------------

    async def _on_sync(self, response: SyncResponse) -> None:
        """After nio handled a sync (room keys first, then the timelines, decrypted)."""
        self._record_invites(response)
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                self.timeline.append((room_id, self._record(room_id, event)))
        self._retry_undecrypted()
        self._trust_all()
        self._arrived.set()

    def _record_invites(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.invite.items():
            for event in info.invite_state:
                if isinstance(event, InviteMemberEvent) and event.state_key == self.user_id:
                    # nio moved the content out of the event's source
                    self.invites.append((room_id, {**event.source, "content": event.content}))

    def _record(self, room_id: str, event: Any) -> Event:
        source = dict(getattr(event, "source", {}) or {})
        if isinstance(event, MegolmEvent):
            entry = {**source, "encrypted": True, "decrypted": False, "late": False}
            event.room_id = room_id
            self._pending[event.event_id] = (room_id, event, entry)
        elif getattr(event, "decrypted", False):
            entry = {**source, "encrypted": True, "decrypted": True, "late": False}
        else:  # in the clear, or encrypted in a way nio can't even try (e.g. another algorithm)
            encrypted = source.get("type") == "m.room.encrypted"
            entry = {**source, "encrypted": encrypted, "decrypted": False, "late": False}
        return entry

    def _retry_undecrypted(self) -> None:
        """Decrypts, in place, the events whose room key has arrived since."""
        olm = self.client.olm
        assert olm is not None
        for event_id, (room_id, event, entry) in list(self._pending.items()):
            if olm.inbound_group_store.get(room_id, event.sender_key, event.session_id) is None:
                continue  # still no key; asking nio would only queue more key requests
            try:
                plain = self.client.decrypt_event(event)
            except Exception as exc:
                log.warning("%s: %s still undecryptable: %r", self.user_id, event_id, exc)
                continue
            source = getattr(plain, "source", None)
            if not isinstance(source, dict) or not getattr(plain, "decrypted", False):
                continue
            entry.clear()
            entry.update({**source, "encrypted": True, "decrypted": True, "late": True})
            del self._pending[event_id]

    def undecryptable(self, room_id: str | None = None) -> list[Event]:
        """Encrypted events that still can't be read, oldest first."""
        return [e for r, e in self.timeline
                if e["encrypted"] and not e["decrypted"] and room_id in (None, r)]

    def _check_running(self) -> None:
        if self._sync_task is not None and self._sync_task.done():
            exc = None if self._sync_task.cancelled() else self._sync_task.exception()
            raise RuntimeError(f"{self.user_id}: the sync loop ended") from exc

    async def wait_for(
        self, match: Callable[[str, Event], bool], within: float = 20.0, after: int = 0
    ) -> tuple[str, Event]:
        """The first (room, event) from index `after` on that matches; waits for it.

        Looks at the whole range each time, since a late key changes events in place."""
        deadline = time.monotonic() + within
        while True:
            for room_id, event in self.timeline[after:]:
                if match(room_id, event):
                    return room_id, event
            self._check_running()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.user_id}: no matching event within {within}s")
            self._arrived.clear()
            await wait_set(self._arrived, remaining)

    async def wait_until(self, condition: Callable[[], bool], within: float = 20.0) -> None:
        """Waits, sync by sync, until `condition()` holds."""
        deadline = time.monotonic() + within
        while not condition():
            self._check_running()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.user_id}: condition not met within {within}s")
            self._arrived.clear()
            await wait_set(self._arrived, remaining)

    async def wait_for_text(
        self, sender: str, room_id: str | None = None, contains: str = "",
        within: float = 20.0, after: int = 0,
    ) -> Event:
        """A decrypted m.room.message from `sender` whose body contains `contains`."""
        def match(room: str, e: Event) -> bool:
            return (e.get("type") == "m.room.message" and e.get("sender") == sender
                    and room_id in (None, room) and contains in e["content"].get("body", ""))
        return (await self.wait_for(match, within, after))[1]

    async def wait_for_event(self, event_id: str, within: float = 20.0) -> Event:
        """The timeline entry of `event_id`, decrypted or not."""
        return (await self.wait_for(lambda _r, e: e.get("event_id") == event_id, within))[1]

    async def wait_for_invite(self, within: float = 20.0) -> tuple[str, Event]:
        await self.wait_until(lambda: bool(self.invites), within)
        return self.invites.pop(0)

    def bodies(self, room_id: str, sender: str) -> list[str]:
        return [
            e["content"].get("body", "") for r, e in self.timeline
            if r == room_id and e.get("sender") == sender and e.get("type") == "m.room.message"
        ]

    def events_from(self, sender: str, room_id: str | None = None) -> list[Event]:
        """The non-state events `sender` sent, as they arrived: for "every answer arrived
        encrypted and decrypted", `all(e["encrypted"] and e["decrypted"] for e in ...)`."""
        return [e for r, e in self.timeline
                if e.get("sender") == sender and "state_key" not in e and room_id in (None, r)]

    def knows_device(self, user_id: str, device_id: str) -> bool:
        """Whether this client has the keys of that device (and so shares room keys with it)."""
        return device_id in self.client.device_store[user_id]

    # -- rooms -----------------------------------------------------------------------

    async def create_encrypted_room(
        self, invite: Iterable[str] = (), *, name: str = "chapter", is_direct: bool = False,
    ) -> str:
        """A private room as Element makes it, encryption on from the start; for `is_direct`,
        a DM as Element makes it (trusted private chat, is_direct, recorded in m.direct)."""
        invite = list(invite)
        resp: RoomCreateResponse = await call("create", lambda: self.client.room_create(
            name=None if is_direct else name, invite=invite, is_direct=is_direct,
            initial_state=[ENCRYPTION_STATE],
            preset=RoomPreset.trusted_private_chat if is_direct else RoomPreset.private_chat,
        ))
        assert isinstance(resp, RoomCreateResponse)
        room_id = str(resp.room_id)
        if is_direct:
            await self._add_direct(room_id, invite)
        await self._wait_for_room(room_id)
        return room_id

    async def create_room(
        self, invite: Iterable[str] = (), *, name: str = "chapter", is_direct: bool = False,
    ) -> str:
        """As `create_encrypted_room`, under `Member`'s name, for helpers like room_with_bot."""
        return await self.create_encrypted_room(invite, name=name, is_direct=is_direct)

    async def _add_direct(self, room_id: str, others: list[str]) -> None:
        path = (f"/_matrix/client/v3/user/{quote(self.user_id, safe='')}"
                "/account_data/m.direct")
        try:
            direct = await raw_call(self.client, "get m.direct", "GET", path)
        except Exception:
            direct = {}
        for other in others:
            direct.setdefault(other, []).append(room_id)
        await raw_call(self.client, "put m.direct", "PUT", path, direct)

    async def join(self, room_id: str) -> None:
        await call("join", lambda: self.client.join(room_id))
        await self._wait_for_room(room_id)

    async def invite(self, room_id: str, user_id: str) -> None:
        await call("invite", lambda: self.client.room_invite(room_id, user_id))

    async def _wait_for_room(self, room_id: str, within: float = 20.0) -> MatrixRoom:
        await self.wait_until(lambda: room_id in self.client.rooms, within)
        return self.client.rooms[room_id]

    async def wait_for_join(self, room_id: str, user_id: str, within: float = 20.0) -> None:
        """Until this client has seen `user_id` join `room_id`."""
        def joined() -> bool:
            room = self.client.rooms.get(room_id)
            return room is not None and user_id in room.users and not room.users[user_id].invited
        await self.wait_until(joined, within)

    # -- sending ---------------------------------------------------------------------

    def _trust_all(self) -> None:
        """Trust on first use: every device this client has keys for counts as verified."""
        olm = self.client.olm
        assert olm is not None
        for device in olm.device_store:
            if not device.deleted and not olm.is_device_verified(device):
                self.client.verify_device(device)

    async def _prepare(self, room_id: str) -> MatrixRoom:
        """The room's members and their devices known, trusted, and Olm sessions claimed."""
        room = await self._wait_for_room(room_id)
        if not room.encrypted:
            raise AssertionError(f"{room_id} is not encrypted for {self.user_id}")
        if not room.members_synced:
            await call("members", lambda: self.client.joined_members(room_id))
        if self.client.should_query_keys:
            # The sync loop may have answered the query meanwhile: nio then says none is needed.
            with contextlib.suppress(LocalProtocolError):
                await call("keys query", self.client.keys_query)
        self._trust_all()
        missing = self.client.get_missing_sessions(room_id)
        if missing:
            await call("keys claim", lambda: self.client.keys_claim(missing))
        return room

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Sends any event encrypted (m.relates_to stays in the clear, as the spec says)."""
        async with self._send_lock:
            await self._prepare(room_id)
            olm = self.client.olm
            assert olm is not None
            if olm.should_share_group_session(room_id):
                await self.client.share_group_session(room_id, ignore_unverified_devices=True)
            _, encrypted = self.client.encrypt(room_id, event_type, dict(content))
            return await self._put_encrypted(room_id, encrypted)

    async def _put_encrypted(self, room_id: str, content: dict[str, Any]) -> str:
        resp = await raw_call(
            self.client, "send", "PUT",
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/send/m.room.encrypted/"
            f"{uuid4().hex}", content,
        )
        return str(resp["event_id"])

    async def send_text(self, room_id: str, body: str) -> str:
        return await self.send_event(room_id, "m.room.message", {"msgtype": "m.text", "body": body})

    async def react(self, room_id: str, event_id: str, key: str, *, encrypt: bool = True) -> str:
        """A reaction, encrypted as Element sends it; `encrypt=False` sends it in the clear,
        as nio's room_send and older clients do."""
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        if encrypt:
            return await self.send_event(room_id, "m.reaction", content)
        resp = await raw_call(
            self.client, "react", "PUT",
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/send/m.reaction/{uuid4().hex}",
            content,
        )
        return str(resp["event_id"])

    async def vote(self, room_id: str, poll_id: str, answer_ids: Iterable[str]) -> str:
        return await self.send_event(room_id, POLL_RESPONSE, poll_response(poll_id, answer_ids))

    # Member's names, so shared helpers work with either kind of member.
    say = send_text
    send = send_event

    async def send_text_with_late_key(self, room_id: str, body: str, delay_s: float) -> str:
        """Sends `body` encrypted with a new Megolm session whose key reaches the other
        devices only `delay_s` seconds later. Returns the event id at once; the key goes out
        from a background task (awaited in `close()`, or with `late_keys_sent()`).

        The session is this helper's own: nio's outbound session for the room is untouched,
        so other sends meanwhile are encrypted and shared as usual."""
        # Imported here: without the e2e extra nio.crypto lacks it, and conftest imports us.
        from nio.crypto import OutboundGroupSession

        async with self._send_lock:
            await self._prepare(room_id)
            olm = self.client.olm
            assert olm is not None
            session = OutboundGroupSession()
            session.shared = True  # nio's encrypt() insists; nobody has it yet, by design
            room_key = {"algorithm": MEGOLM, "room_id": room_id,
                        "session_id": session.id, "session_key": session.session_key}
            own = olm.account.identity_keys
            # Our own device can read what it sent, as Element's can.
            olm.create_group_session(own["curve25519"], own["ed25519"], room_id,
                                     session.id, session.session_key)
            plaintext = {"type": "m.room.message", "room_id": room_id,
                         "content": {"msgtype": "m.text", "body": body}}
            event_id = await self._put_encrypted(room_id, {
                "algorithm": MEGOLM, "sender_key": own["curve25519"],
                "ciphertext": session.encrypt(Api.to_json(plaintext)),
                "session_id": session.id, "device_id": self.device_id,
            })
        self._tasks.append(asyncio.create_task(self._share_key_later(room_id, room_key, delay_s)))
        return event_id

    async def late_keys_sent(self) -> None:
        """Waits until every late key has been sent."""
        await asyncio.gather(*self._tasks)

    async def _share_key_later(self, room_id: str, room_key: dict[str, Any], delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        async with self._send_lock:
            room = await self._prepare(room_id)
            olm = self.client.olm
            assert olm is not None
            messages: dict[str, dict[str, Any]] = {}
            for user_id in room.users:
                for device in olm.device_store.active_user_devices(user_id):
                    if user_id == self.user_id and device.id == self.device_id:
                        continue
                    olm_session = olm.session_store.get(device.curve25519)
                    if olm_session is None:
                        log.warning("late key: no Olm session with %s %s", user_id, device.id)
                        continue
                    messages.setdefault(user_id, {})[device.id] = olm._olm_encrypt(
                        olm_session, device, "m.room_key", room_key)
            await raw_call(
                self.client, "late key", "PUT",
                f"/_matrix/client/v3/sendToDevice/m.room.encrypted/{uuid4().hex}",
                {"messages": messages},
            )

    async def raw(self, method: str, path: str, body: object = None) -> Any:
        """Any client-server request, as this device."""
        return await raw_call(self.client, method.lower(), method, path, body)


async def _login(server: SynapseServer, account: Account) -> Account:
    """A password login: a new device (and access token) for the same account."""
    out = await asyncio.to_thread(server.request, "POST", "/_matrix/client/v3/login", {
        "type": "m.login.password", "password": account.password,
        "identifier": {"type": "m.id.user", "user": account.user_id},
        "initial_device_display_name": "another device",
    })
    return Account(account.user_id, account.password, out["access_token"], out["device_id"])
