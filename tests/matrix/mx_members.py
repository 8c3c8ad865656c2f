"""People in the tests: matrix-nio clients that send like Element and watch their rooms."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlencode
from uuid import uuid4

from nio import AsyncClient, AsyncClientConfig, RoomCreateResponse, RoomPreset

from bot.adapters.matrix.calls import call, raw_call
from bot.waiting import wait_set
from tests.matrix.mx_synapse import Account, SynapseServer

Event = dict[str, Any]


class Member:
    def __init__(self, server: SynapseServer, account: Account) -> None:
        self.account = account
        self.user_id = account.user_id
        self.client = AsyncClient(
            server.url, account.user_id,
            config=AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0,
                                     encryption_enabled=False),
        )
        self.client.user_id = account.user_id
        self.client.access_token = account.access_token
        self.client.device_id = account.device_id
        self.timeline: list[tuple[str, Event]] = []  # (room_id, event), in arrival order
        self.invites: list[tuple[str, Event]] = []  # (room_id, the invite member event)
        self.account_data: dict[str, Any] = {}
        self._token: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    # -- watching --------------------------------------------------------------------

    async def start(self) -> None:
        await self._sync_once(0)
        self._task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.client.close()

    async def _loop(self) -> None:
        while True:
            await self._sync_once(5000)

    async def _sync_once(self, timeout_ms: int) -> None:
        params = {"timeout": str(timeout_ms),
                  "filter": json.dumps({"room": {"timeline": {"limit": 200}}})}
        if self._token:
            params["since"] = self._token
        batch = await raw_call(self.client, "sync", "GET",
                               "/_matrix/client/v3/sync?" + urlencode(params),
                               timeout_s=timeout_ms / 1000 + 30)
        first = self._token is None
        self._token = batch["next_batch"]
        for event in (batch.get("account_data") or {}).get("events") or []:
            self.account_data[event["type"]] = event.get("content")
        rooms = batch.get("rooms") or {}
        for room_id, room in (rooms.get("invite") or {}).items():
            for event in (room.get("invite_state") or {}).get("events") or []:
                if event.get("type") == "m.room.member" and event.get("state_key") == self.user_id:
                    self.invites.append((room_id, event))
        if not first:
            for room_id, room in (rooms.get("join") or {}).items():
                for event in (room.get("timeline") or {}).get("events") or []:
                    self.timeline.append((room_id, event))
        self._arrived.set()

    async def wait_for(
        self, match: Callable[[str, Event], bool], within: float = 20.0, after: int = 0
    ) -> tuple[str, Event]:
        """The first (room, event) from index `after` on that matches; waits for it."""
        deadline = time.monotonic() + within
        seen = after
        while True:
            for room_id, event in self.timeline[seen:]:
                if match(room_id, event):
                    return room_id, event
            seen = max(seen, len(self.timeline))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.user_id}: no matching event within {within}s")
            self._arrived.clear()
            await wait_set(self._arrived, remaining)

    async def wait_until(self, condition: Callable[[], bool], within: float = 20.0) -> None:
        """Waits, sync by sync, until `condition()` holds."""
        deadline = time.monotonic() + within
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.user_id}: condition not met within {within}s")
            self._arrived.clear()
            await wait_set(self._arrived, remaining)

    async def wait_for_invite(self, within: float = 20.0) -> tuple[str, Event]:
        deadline = time.monotonic() + within
        while not self.invites:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.user_id}: no invite")
            self._arrived.clear()
            await wait_set(self._arrived, 1)
        return self.invites.pop(0)

    def bodies(self, room_id: str, sender: str) -> list[str]:
        return [
            e["content"].get("body", "") for r, e in self.timeline
            if r == room_id and e.get("sender") == sender and e.get("type") == "m.room.message"
        ]

    # -- acting ----------------------------------------------------------------------

    async def create_room(
        self, invite: Iterable[str] = (), *, name: str = "chapter",
        initial_state: Iterable[dict[str, Any]] = (), is_direct: bool = False,
    ) -> str:
        resp = await call("create", lambda: self.client.room_create(
            name=None if is_direct else name, invite=list(invite),
            initial_state=list(initial_state), is_direct=is_direct,
            preset=RoomPreset.trusted_private_chat if is_direct else RoomPreset.private_chat,
        ))
        assert isinstance(resp, RoomCreateResponse)
        return str(resp.room_id)

    async def invite(self, room_id: str, user_id: str) -> None:
        await call("invite", lambda: self.client.room_invite(room_id, user_id))

    async def join(self, room_id: str) -> None:
        await call("join", lambda: self.client.join(room_id))

    async def send(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        txn = uuid4().hex
        resp = await call("send", lambda: self.client.room_send(
            room_id, event_type, content, tx_id=txn))
        return str(resp.event_id)

    async def say(self, room_id: str, body: str) -> str:
        return await self.send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})

    async def react(self, room_id: str, target: str, key: str) -> str:
        return await self.send(room_id, "m.reaction", {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}})

    async def redact(self, room_id: str, event_id: str) -> None:
        await raw_call(
            self.client, "redact", "PUT",
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/redact/"
            f"{quote(event_id, safe='')}/{uuid4().hex}", {},
        )

    async def send_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
    ) -> None:
        await raw_call(
            self.client, "state", "PUT",
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/state/{event_type}/"
            f"{quote(state_key, safe='')}", content,
        )

    async def set_power_level(self, room_id: str, user_id: str, level: int) -> None:
        path = (f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}"
                "/state/m.room.power_levels/")
        content = await raw_call(self.client, "get pl", "GET", path)
        content.setdefault("users", {})[user_id] = level
        await raw_call(self.client, "put pl", "PUT", path, content)

    async def state_event(self, room_id: str, event_type: str, state_key: str = "") -> Any:
        return await raw_call(
            self.client, "state", "GET",
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/state/{event_type}/"
            f"{quote(state_key, safe='')}",
        )

    async def raw(self, method: str, path: str, body: object = None) -> Any:
        """Any client-server request, as this member."""
        return await raw_call(self.client, method.lower(), method, path, body)
