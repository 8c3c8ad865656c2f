"""End-to-end encryption: the bot's one device reads and writes encrypted rooms.

The sync loop reads /sync itself (bot/adapters/matrix/sync.py); each batch is also handed to
matrix-nio's crypto machine, which takes the to-device messages (room keys, key requests),
follows members' devices and decrypts the timeline. The loop then sees each encrypted event as
the plain event it carries. Sends go through nio's `room_send`, which encrypts for every
device in the room.

Trust (docs/matrix.md): every device of a room's members gets the room keys, verified or not
(trust on first use), and members never verify the bot. That keeps the server and anyone
reading its database or the network out; it doesn't keep out someone who can add a device to
a member's account. A message whose key has not arrived is kept (in the state store, so a
restart keeps it too), its key is asked for, and it is handled once the key comes; after
`undecryptable_after_s` the sender is told once, in that room, what to do.

The device's keys live in `store_dir` (nio's SQLite store, one file per device); its id is kept
in the database with the access token, so a restart or a deploy is the same device. The
database also keeps a copy of the store, written after each sync batch that changed it and
before that batch's token: the copy that takes the lead (replicas, or a new machine) starts
from it, so only the copy that syncs the account uses the device, and the device moves with
the lead (docs/matrix.md).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    EncryptionError,
    LocalProtocolError,
    MegolmEvent,
    SyncResponse,
)
from nio.rooms import MatrixRoom

from bot.adapters.matrix.calls import NETWORK_ERRORS, MatrixCallError, call
from bot.adapters.matrix.rooms import RoomDirectory
from bot.adapters.matrix.settings import MatrixSettings
from bot.adapters.matrix.state import StateStore

log = logging.getLogger(__name__)

PARKED_KEY = "undecrypted"
STORE_KEY = "crypto_store"  # the store file, base64: handed over with the lead
STORE_HASH_KEY = "crypto_store_sha256"
MAX_PARKED = 500  # undecryptable events kept; the oldest go first
FORGET_AFTER_S = 86_400.0  # an event whose key never came is forgotten after a day

Event = Mapping[str, Any]


@dataclass
class Parked:
    """An encrypted event whose room key hasn't arrived."""

    room_id: str
    event: dict[str, Any]
    since: float  # time.time() it was first seen
    told: bool = False


class Crypto:
    """Usage: `crypto.open()` after the login; `await crypto.take(batch)` for each /sync
    batch before its events are handled; `crypto.plain(room_id, event)` for each encrypted
    event; `await crypto.park(...)` for one that can't be read yet; `await crypto.due()` after
    the batch. With `store_dir` unset, or nio built without encryption, it is off."""

    def __init__(self, client: AsyncClient, settings: MatrixSettings, store: StateStore,
                 rooms: RoomDirectory) -> None:
        self._client = client
        self._settings = settings
        self._store = store
        self._rooms = rooms
        self._plain: dict[str, dict[str, Any]] = {}  # event id -> the decrypted event
        self._parked: dict[str, Parked] = {}
        self._loaded = False
        self._saved: tuple[float, int] | None = None  # the file's (mtime, size) last saved
        self._saved_hash: str | None = None
        # (user, device) and the store's file: looked at after every batch and send.
        self._path: tuple[tuple[str, str], Path] | None = None

    @property
    def on(self) -> bool:
        return self._client.olm is not None

    @staticmethod
    def wanted(settings: MatrixSettings) -> bool:
        from nio.crypto import ENCRYPTION_ENABLED

        return settings.store_dir is not None and ENCRYPTION_ENABLED

    async def open(self) -> None:
        """Opens the device's store (made the first time) and publishes its keys."""
        if not self.wanted(self._settings):
            return
        assert self._settings.store_dir is not None
        Path(self._settings.store_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        await self._take_over()
        log.info("matrix: encryption on, device %s, keys in %s", self._client.device_id,
                 self._settings.store_dir)
        if not self._loaded:
            raw = await self._store.get(PARKED_KEY)
            for item in json.loads(raw) if raw else []:
                self._parked[item["event"]["event_id"]] = Parked(
                    item["room_id"], item["event"], item["since"], item.get("told", False))
            self._loaded = True
        await self.keep_up()

    def _file(self) -> Path:
        assert self._settings.store_dir is not None
        key = (self._client.user_id, self._client.device_id)
        if self._path is None or self._path[0] != key:
            self._path = (key, Path(self._settings.store_dir) / f"{key[0]}_{key[1]}.db")
        return self._path[1]

    async def _take_over(self) -> None:
        """Open the device's store: the file here when it follows from the copy the database
        keeps (the same copy wrote both, the file maybe a little later), else that copy (the
        lead comes from another machine, or this folder is new or stale); nio makes a new
        device account in an empty one."""
        saved_hash = await self._store.get(STORE_HASH_KEY)
        path = self._file()
        marker = path.with_name(path.name + ".from")  # the database copy the file follows
        follows = path.exists() and marker.exists() and marker.read_text() == saved_hash
        if saved_hash and not follows:
            saved = await self._store.get(STORE_KEY)
            if saved:
                self._close_store()
                tmp = path.with_name(path.name + ".restoring")
                tmp.write_bytes(base64.b64decode(saved))
                tmp.replace(path)
                for extra in (path.name + "-wal", path.name + "-shm"):
                    path.with_name(extra).unlink(missing_ok=True)
                marker.write_text(saved_hash)
                log.info("matrix: the device's keys taken from the database (%s)",
                         saved_hash[:12])
        self._saved_hash = saved_hash
        if not self.on:
            self._client.load_store()
        self._saved = None

    def _close_store(self) -> None:
        store = getattr(self._client, "store", None)
        if store is not None:
            store.database.close()
        self._client.store = None  # type: ignore[assignment]
        self._client.olm = None

    async def hand_over(self) -> None:
        """This copy leads again after another may have used the device: its keys come from
        the database again."""
        if self.wanted(self._settings) and self._client.device_id:
            await self._take_over()
            await self.keep_up()

    async def save(self) -> None:
        """Write the store to the database when it changed (before the sync token)."""
        if not self.on:
            return
        path = self._file()
        try:
            stat = path.stat()
        except FileNotFoundError:
            return
        mark = (stat.st_mtime, stat.st_size)
        if mark == self._saved:
            return
        source = sqlite3.connect(path)
        copy = sqlite3.connect(":memory:")
        try:
            source.backup(copy)  # a consistent copy, whatever nio writes next
            data = copy.serialize()
        finally:
            source.close()
            copy.close()
        digest = _sha256(data)
        if digest != self._saved_hash:
            await self._store.set(STORE_KEY, base64.b64encode(data).decode("ascii"))
            await self._store.set(STORE_HASH_KEY, digest)
            path.with_name(path.name + ".from").write_text(digest)
            self._saved_hash = digest
        self._saved = mark

    async def keep_up(self) -> None:
        """Uploads one-time keys when they run low, fetches the devices of members whose
        devices changed, claims keys for new devices, and sends key requests and shares."""
        client = self._client
        if not self.on:
            return
        try:
            if client.should_upload_keys:
                await call("keys upload", client.keys_upload)
            if client.should_query_keys:
                await call("keys query", client.keys_query)
            if client.should_claim_keys:
                users = client.get_users_for_key_claiming()
                await call("keys claim", lambda: client.keys_claim(users))
            await client.send_to_device_messages()
        except (MatrixCallError, LocalProtocolError, *NETWORK_ERRORS) as exc:
            log.warning("matrix: keeping the device's keys up failed (%r); trying again after "
                        "the next sync", exc)

    async def take(self, batch: Mapping[str, Any]) -> None:
        """Let the crypto machine read a /sync batch: to-device messages first (the room keys
        that came with it), then each joined room's timeline, decrypted where it can."""
        if not self.on:
            return
        if not self._concerns_crypto(batch):
            if self._client.should_upload_keys:
                await self.keep_up()
            return
        # nio changes parts of what it parses in place; the loop reads the batch afterwards.
        response = SyncResponse.from_dict(copy.deepcopy(dict(batch)))
        if not isinstance(response, SyncResponse):
            log.warning("matrix: nio could not read a sync batch (%s); its encrypted events "
                        "wait for their keys", getattr(response, "message", response))
            return
        # nio skips a batch whose next_batch it has seen; a batch read again must be taken.
        self._client.next_batch = None  # type: ignore[assignment]
        await self._client.receive_response(response)
        for info in response.rooms.join.values():
            for event in info.timeline.events:
                if getattr(event, "decrypted", False) and getattr(event, "event_id", None):
                    self._plain[event.event_id] = dict(event.source)
        await self.keep_up()

    def _concerns_crypto(self, batch: Mapping[str, Any]) -> bool:
        """Whether the crypto machine must read the batch: keys or devices changed, rooms
        came or went, or a room it follows (encrypted, or becoming so) has events. A batch of
        nothing but plain rooms costs it nothing (nio's parse of a batch is not cheap)."""
        if (batch.get("to_device") or {}).get("events"):
            return True
        lists = batch.get("device_lists") or {}
        if self._shares_encrypted_room({*(lists.get("changed") or ()), *(lists.get("left") or ())}):
            return True
        count = (batch.get("device_one_time_keys_count") or {}).get("signed_curve25519")
        if isinstance(count, int) and self._client.olm is not None:
            self._client.olm.uploaded_key_count = count  # what nio would take from the batch
        rooms = batch.get("rooms") or {}
        if rooms.get("invite") or rooms.get("leave"):
            return True
        followed = self._client.encrypted_rooms
        for room_id, room in (rooms.get("join") or {}).items():
            if room_id in followed:
                return True
            for part in ("state", "timeline"):
                for event in (room.get(part) or {}).get("events") or []:
                    if event.get("type") in ("m.room.encryption", "m.room.encrypted"):
                        return True
        return False

    def _shares_encrypted_room(self, users: set[str]) -> bool:
        """Whether nio would ask for the keys of any of `users` whose devices changed: only
        of those in an encrypted room it knows (its own rule, nio's `_handle_olm_events`). A
        change of someone who shares only plain rooms with the bot (or of the bot's own
        device list, which Synapse reports often) is nothing to parse a whole batch for."""
        if not users:
            return False
        return any(room.encrypted and not users.isdisjoint(room.users)
                   for room in self._client.rooms.values())

    def done_with_batch(self) -> None:
        self._plain.clear()

    def plain(self, room_id: str, event: Event) -> dict[str, Any] | None:
        """The event an encrypted one carries, or None while its key is missing."""
        event_id = event.get("event_id")
        if isinstance(event_id, str) and event_id in self._plain:
            return self._plain.pop(event_id)
        if not self.on:
            return None
        parsed = MegolmEvent.from_dict(copy.deepcopy(dict(event)))
        if not isinstance(parsed, MegolmEvent):
            return None
        parsed.room_id = room_id
        try:
            decrypted = self._client.decrypt_event(parsed)
        except EncryptionError:
            return None
        source = getattr(decrypted, "source", None)
        return dict(source) if isinstance(source, dict) else None

    async def park(self, room_id: str, event: Event) -> None:
        """Keep an event that can't be read yet and ask for its key."""
        event_id = str(event.get("event_id"))
        if event_id in self._parked:
            return
        self._parked[event_id] = Parked(room_id, dict(event), time.time())
        log.info("matrix: %s in %s can't be decrypted yet; asking for its key", event_id,
                 room_id)
        parsed = MegolmEvent.from_dict(copy.deepcopy(dict(event)))
        if isinstance(parsed, MegolmEvent):
            parsed.room_id = room_id
            try:
                await self._client.request_room_key(parsed)
            except LocalProtocolError:
                pass  # asked already for this session
            except NETWORK_ERRORS as exc:
                log.warning("matrix: asking for the key of %s failed (%r)", event_id, exc)
        await self._save()

    async def due(self) -> tuple[list[tuple[str, dict[str, Any]]], list[Parked]]:
        """What became readable since (room id, plain event, oldest first), and what has
        waited too long and whose sender is to be told now (once)."""
        readable: list[tuple[str, dict[str, Any]]] = []
        tell: list[Parked] = []
        now = time.time()
        changed = False
        for event_id, parked in sorted(self._parked.items(), key=lambda kv: kv[1].since):
            plain = self.plain(parked.room_id, parked.event)
            if plain is not None:
                readable.append((parked.room_id, plain))
                del self._parked[event_id]
                changed = True
            elif now - parked.since > FORGET_AFTER_S:
                del self._parked[event_id]
                changed = True
            elif not parked.told and now - parked.since > self._settings.undecryptable_after_s:
                parked.told = True
                tell.append(parked)
                changed = True
        while len(self._parked) > MAX_PARKED:
            del self._parked[min(self._parked, key=lambda k: self._parked[k].since)]
            changed = True
        if changed:
            await self._save()
        return readable, tell

    async def _save(self) -> None:
        await self._store.set(PARKED_KEY, json.dumps([
            {"room_id": p.room_id, "event": p.event, "since": p.since, "told": p.told}
            for p in self._parked.values()]))

    async def encrypts(self, room_id: str) -> bool:
        return self.on and await self._rooms.is_encrypted(room_id)

    async def room_for_send(self, room_id: str, invited: Sequence[str] = ()) -> None:
        """Before a send: nio encrypts only for rooms it knows, and shares the room key with
        the devices it knows of. A room quiet since the start is known to the room directory
        (its state read from the homeserver); someone just invited (a new DM room) is added
        as invited, so their devices get the key too; devices not fetched yet are fetched."""
        if not self.on:
            return
        client = self._client
        room = client.rooms.get(room_id)
        encrypted = await self._rooms.is_encrypted(room_id)
        if room is None:
            room = MatrixRoom(room_id, client.user_id, encrypted)
            client.rooms[room_id] = room
        if encrypted and not room.encrypted:
            room.encrypted = True
            client.encrypted_rooms.add(room_id)
        if not room.encrypted:
            return
        for user_id in invited:
            room.add_member(user_id, None, None, invited=True)
        if invited and client.olm is not None:
            client.olm.update_tracked_users(room)
        if client.should_query_keys:
            await call("keys query", client.keys_query)

def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
