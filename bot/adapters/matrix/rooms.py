"""What the adapter knows about each room's state: creators, power levels, encryption, names.

Read from the homeserver on first use and kept current from the state events that sync
delivers, so a restart (which starts from a stored sync token, with no state) costs one
/state request per room.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nio import AsyncClient

from bot.adapters.cache import BoundedCache
from bot.adapters.matrix.calls import call

CREATOR_LEVEL = 1 << 62  # stands for "above every power level" (room version 12 creators)


def creators_outrank(room_version: str) -> bool:
    """Room version 12 (and the hydra test versions before it) made creators privileged."""
    if room_version.isdigit():
        return int(room_version) >= 12
    return room_version.startswith("org.matrix.hydra")


@dataclass
class RoomState:
    room_version: str = "1"
    creators: frozenset[str] = frozenset()
    power_levels: Mapping[str, Any] | None = None
    encrypted: bool = False
    members: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    member_ts: dict[str, int] = field(default_factory=dict)  # when each membership was set

    def apply(self, event: Mapping[str, Any]) -> None:
        etype, content = event.get("type"), event.get("content") or {}
        if etype == "m.room.create":
            # Anything may stand in a field the room version does not check: Synapse checks
            # `additional_creators` only from version 12, so a v11 room can carry a 5 there.
            extra = content.get("additional_creators")
            extra = extra if isinstance(extra, list) else []
            self.room_version = str(content.get("room_version", "1"))
            self.creators = frozenset(
                [str(event.get("sender", ""))] + [c for c in extra if isinstance(c, str)]
            )
        elif etype == "m.room.power_levels":
            self.power_levels = content if isinstance(content, Mapping) else {}
        elif etype == "m.room.encryption":
            self.encrypted = True
        elif etype == "m.room.member" and isinstance(event.get("state_key"), str):
            self.members[event["state_key"]] = content
            ts = event.get("origin_server_ts")
            self.member_ts[event["state_key"]] = ts if isinstance(ts, int) else 0

    def power_level(self, user_id: str) -> int:
        if user_id in self.creators and creators_outrank(self.room_version):
            return CREATOR_LEVEL
        if self.power_levels is None:
            # No power_levels event yet: the spec gives the creator 100, everyone else 0.
            return 100 if user_id in self.creators else 0
        users = self.power_levels.get("users")
        users = users if isinstance(users, Mapping) else {}
        level = users.get(user_id, self.power_levels.get("users_default", 0))
        try:
            return int(level)
        except (TypeError, ValueError, OverflowError):
            return 0

    def membership(self, user_id: str) -> str | None:
        member = self.members.get(user_id)
        return str(member.get("membership")) if member else None


class RoomDirectory:
    def __init__(self, client: AsyncClient, organiser_level: int, max_rooms: int = 2_000) -> None:
        self._client = client
        self._organiser_level = organiser_level
        # The rooms used most lately; one dropped is read again from the homeserver on use.
        self._rooms: BoundedCache[str, RoomState] = BoundedCache(max_rooms)
        self._loading: dict[str, asyncio.Lock] = {}  # only while a room is being read

    async def get(self, room_id: str) -> RoomState:
        room = self._rooms.get(room_id)
        if room is not None:
            return room
        lock = self._loading.setdefault(room_id, asyncio.Lock())
        try:
            async with lock:
                room = self._rooms.get(room_id)
                if room is None:
                    room = await self.load(room_id)
                    self._rooms[room_id] = room
        finally:
            if not lock.locked() and self._loading.get(room_id) is lock:
                del self._loading[room_id]
        return room

    async def load(self, room_id: str) -> RoomState:
        """The room's full current state, fresh from the homeserver (not cached)."""
        resp: Any = await call("get state", lambda: self._client.room_get_state(room_id))
        room = RoomState()
        for event in resp.events:
            if event.get("type") == "m.room.create":
                room.apply(event)  # first: other state may depend on the version
        for event in resp.events:
            room.apply(event)
        return room

    def apply(self, room_id: str, event: Mapping[str, Any]) -> None:
        """A state event from sync: only rooms already loaded need updating."""
        room = self._rooms.get(room_id)
        if room is not None and "state_key" in event:
            room.apply(event)

    def forget(self, room_id: str) -> None:
        self._rooms.pop(room_id)

    def __len__(self) -> int:
        return len(self._rooms)

    async def is_organiser(self, room_id: str, user_id: str) -> bool:
        room = await self.get(room_id)
        return room.power_level(user_id) >= self._organiser_level

    async def display_name(self, room_id: str, user_id: str) -> str:
        room = await self.get(room_id)
        name = (room.members.get(user_id) or {}).get("displayname")
        return name if isinstance(name, str) and name else user_id

    @property
    def client(self) -> AsyncClient:
        return self._client

    async def avatar_url(self, room_id: str, user_id: str) -> str | None:
        """The member's avatar in this room (their m.room.member event), an mxc:// address."""
        room = await self.get(room_id)
        url = (room.members.get(user_id) or {}).get("avatar_url")
        return url if isinstance(url, str) and url.startswith("mxc://") else None

    async def is_encrypted(self, room_id: str) -> bool:
        return (await self.get(room_id)).encrypted
