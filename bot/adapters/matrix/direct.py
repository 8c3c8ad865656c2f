"""Direct rooms: find or create one per person, and keep the bot's `m.direct` up to date."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from nio import AsyncClient, RoomPreset

from bot.adapters.matrix.calls import MatrixCallError, call, raw_call
from bot.adapters.matrix.rooms import RoomDirectory, RoomState
from bot.waiting import wait_set

log = logging.getLogger(__name__)


class _HandlingTasks:
    """The tasks in which the sync loop is handing events to the core.

    A DM sent from one of them (a waitlist move-up, a cancellation) must not wait minutes
    for an invite to be accepted: the sync loop answers no one in any room meanwhile. Tasks
    rather than a context variable, which would leak into tasks (the scheduler's wake-up)
    started while an event is handled.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    def active(self) -> bool:
        return asyncio.current_task() in self._tasks


handling_events = _HandlingTasks()


class NoDirectRoom(Exception):
    """The person did not join a direct room in time, refused it, or can't be invited."""


@dataclass(frozen=True)
class DirectRoom:
    room_id: str
    user_id: str
    joined: bool
    wait_s: float = 0.0  # how long an open invite may still be waited on


ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


class DirectRooms:
    def __init__(self, client: AsyncClient, rooms: RoomDirectory, invite_timeout_s: float,
                 encrypted: bool = False) -> None:
        self._client = client
        self._rooms = rooms
        self._timeout = invite_timeout_s
        self._encrypted = encrypted  # new direct rooms are made encrypted, as Element does
        self._direct: dict[str, list[str]] = {}
        self._changed: dict[tuple[str, str], asyncio.Event] = {}
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}  # only while in use

    @property
    def _me(self) -> str:
        return str(self._client.user_id)

    def _path(self) -> str:
        return f"/_matrix/client/v3/user/{quote(self._me, safe='')}/account_data/m.direct"

    async def load(self) -> None:
        try:
            content = await raw_call(self._client, "get m.direct", "GET", self._path())
        except MatrixCallError as exc:
            if exc.errcode != "M_NOT_FOUND":
                raise
            content = {}
        self.on_account_data(content)

    def on_account_data(self, content: Mapping[str, Any]) -> None:
        """`m.direct` as sync delivers it (after a change from this or another device)."""
        self._direct = {
            user: [r for r in rooms if isinstance(r, str)]
            for user, rooms in content.items()
            if isinstance(rooms, list)
        }

    def is_direct(self, room_id: str) -> bool:
        return any(room_id in rooms for rooms in self._direct.values())

    async def remember(self, user_id: str, room_id: str) -> None:
        rooms = self._direct.setdefault(user_id, [])
        if room_id in rooms:
            return
        rooms.append(room_id)
        await raw_call(self._client, "put m.direct", "PUT", self._path(), self._direct)

    def on_membership(self, room_id: str, user_id: str) -> None:
        """Sync saw someone's membership change: wake whoever waits for them to join."""
        waiter = self._changed.get((room_id, user_id))
        if waiter is not None:
            waiter.set()

    async def open_room(self, user_id: str) -> DirectRoom:
        """The person's direct room: joined, or with an invite out (made now if need be).

        Raises NoDirectRoom when no room can be had (unknown user, invites refused).
        """
        lock, users = self._locks.setdefault(user_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                for room_id in reversed(self._direct.get(user_id, [])):
                    found = await self._try_existing(room_id, user_id)
                    if found is not None:
                        return found
                return await self._create(user_id)
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[user_id]

    async def wait_joined(self, room: DirectRoom) -> None:
        """Waits what is left of the invite's time; raises NoDirectRoom if they don't join."""
        if not room.joined:
            await self._wait_join(room.room_id, room.user_id, room.wait_s)

    async def _state(self, room_id: str) -> RoomState | None:
        try:
            return await self._rooms.load(room_id)
        except MatrixCallError:
            return None  # the bot left or was removed: not a usable room

    async def _try_existing(self, room_id: str, user_id: str) -> DirectRoom | None:
        state = await self._state(room_id)
        if state is None or state.membership(self._me) != "join":
            return None
        membership = state.membership(user_id)
        if membership == "join":
            return DirectRoom(room_id, user_id, joined=True)
        if membership == "ban":
            return None
        if membership == "invite":
            age_s = time.time() - state.member_ts.get(user_id, 0) / 1000
            # Past its time the invite is not waited on again: the answer is "can't DM" now.
            return DirectRoom(room_id, user_id, joined=False,
                              wait_s=max(self._timeout - age_s, 0.0))
        # They left: ask them back into the same room rather than making another.
        try:
            await call("invite", lambda: self._client.room_invite(room_id, user_id))
        except MatrixCallError as exc:
            log.info("matrix: can't re-invite %s to %s: %s", user_id, room_id, exc)
            return None
        return DirectRoom(room_id, user_id, joined=False, wait_s=self._timeout)

    async def _create(self, user_id: str) -> DirectRoom:
        try:
            resp: Any = await call(
                "create direct room",
                lambda: self._client.room_create(
                    is_direct=True, invite=[user_id], preset=RoomPreset.trusted_private_chat,
                    initial_state=[ENCRYPTION_STATE] if self._encrypted else [],
                ),
            )
        except MatrixCallError as exc:
            raise NoDirectRoom(f"can't create a direct room with {user_id}: {exc}") from exc
        await self.remember(user_id, resp.room_id)
        log.info("matrix: invited %s to a new direct room %s", user_id, resp.room_id)
        return DirectRoom(str(resp.room_id), user_id, joined=False, wait_s=self._timeout)

    async def _wait_join(self, room_id: str, user_id: str, within_s: float) -> None:
        waiter = self._changed.setdefault((room_id, user_id), asyncio.Event())
        deadline = time.monotonic() + within_s
        try:
            while True:
                state = await self._state(room_id)
                membership = state.membership(user_id) if state else None
                if membership == "join":
                    self._rooms.forget(room_id)
                    return
                if membership in ("leave", "ban"):
                    raise NoDirectRoom(f"{user_id} refused the invite to {room_id}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NoDirectRoom(f"{user_id} did not join {room_id} in time")
                # Sync wakes us; the periodic look also covers a stalled or stopped sync.
                await wait_set(waiter, min(remaining, 2.0))
                waiter.clear()
        finally:
            self._changed.pop((room_id, user_id), None)
