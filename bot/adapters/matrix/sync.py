"""The sync loop: long-polls /sync, fills gaps from /messages, hands events to the router.

What "exactly once" rests on:
- the sync token is saved after each batch, so a restart resumes where the last batch ended;
- each event is recorded as in flight before the core sees it and as done after
  (handled.py), so a batch read again after a crash is neither answered twice nor lost;
- a `limited` timeline (more happened than one sync returns) is back-filled from /messages
  down to the previous token, so nothing in between is skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from nio import AsyncClient

from bot.adapters.matrix.calls import Backoff, MatrixCallError, call, raw_call
from bot.adapters.matrix.direct import DirectRooms, handling_events
from bot.adapters.matrix.handled import HandledLog
from bot.adapters.matrix.inbound import EventRouter
from bot.adapters.matrix.rooms import RoomDirectory
from bot.adapters.matrix.settings import MatrixSettings
from bot.adapters.matrix.state import StateStore

log = logging.getLogger(__name__)

Event = Mapping[str, Any]
BACKFILL_PAGE = 100
BACKFILL_MAX_PAGES = 50

TOKEN_KEY = "next_batch"
# What the bot posts in answer to something (its seeded reactions follow a message of its own).
ANSWER_TYPES = frozenset({"m.room.message", "org.matrix.msc3381.poll.start",
                          "org.matrix.msc3381.poll.end"})


class TokenRejected(Exception):
    """The access token no longer works (M_UNKNOWN_TOKEN): log in again."""


def _is_own_join(event: Event, me: str) -> bool:
    if event.get("type") != "m.room.member" or event.get("state_key") != me:
        return False
    if (event.get("content") or {}).get("membership") != "join":
        return False
    prev = (event.get("unsigned") or {}).get("prev_content") or {}
    return prev.get("membership") != "join"  # a profile change is not a join


def _last_own_join(events: Sequence[Event], me: str) -> int | None:
    return next((i for i in range(len(events) - 1, -1, -1) if _is_own_join(events[i], me)), None)


def _history_ends(events: Sequence[Event], me: str, joined: int) -> int:
    """The index of the last event that is history to the bot, given its join at `joined`.

    What was said after the bot was invited is meant for it, although it joined later:
    Element creates a direct room with the first message, so "!start" comes before the
    bot's join, and an organiser may type "!setup" the moment they invited it. Without the
    invite in view (a timeline that starts after it) the join is where history ends.
    """
    for i in range(joined - 1, -1, -1):
        event = events[i]
        if event.get("type") == "m.room.member" and event.get("state_key") == me:
            if (event.get("content") or {}).get("membership") == "invite":
                return i
            break
    return joined


class SyncLoop:
    def __init__(
        self,
        client: AsyncClient,
        settings: MatrixSettings,
        store: StateStore,
        router: EventRouter,
        rooms: RoomDirectory,
        direct: DirectRooms,
    ) -> None:
        self._client = client
        self._settings = settings
        self._store = store
        self._router = router
        self._rooms = rooms
        self._direct = direct
        self._handled = HandledLog(store)
        self._token: str | None = None
        self.in_long_poll = False
        self._filter_ids: dict[int, str] = {}

    @property
    def _me(self) -> str:
        return self._settings.user_id

    @staticmethod
    def _filter_body(limit: int) -> dict[str, Any]:
        return {
            "room": {
                "timeline": {"limit": limit},
                "state": {"lazy_load_members": True},
                "ephemeral": {"not_types": ["*"]},
            },
            "presence": {"not_types": ["*"]},
        }

    async def _filter(self, limit: int) -> str:
        """A stored filter's id (the homeserver then needn't parse it on every sync)."""
        if limit not in self._filter_ids:
            path = f"/_matrix/client/v3/user/{quote(self._me, safe='')}/filter"
            try:
                made = await raw_call(self._client, "filter", "POST", path,
                                      self._filter_body(limit))
                self._filter_ids[limit] = str(made["filter_id"])
            except (MatrixCallError, KeyError):
                return json.dumps(self._filter_body(limit), separators=(",", ":"))
        return self._filter_ids[limit]

    async def load(self) -> None:
        self._token = await self._store.get(TOKEN_KEY) or None

    async def run(self, stopping: asyncio.Event) -> None:
        backoff = Backoff(first=1.0, cap=60.0)
        while not stopping.is_set():
            try:
                batch = await self._sync()
            except MatrixCallError as exc:
                wait = backoff.next()
                log.error("matrix sync refused: %s; retrying in %.0fs", exc, wait)
                await asyncio.sleep(wait)
                continue
            backoff.reset()
            await self.process(batch)

    async def _sync(self) -> dict[str, Any]:
        first = self._token is None
        params = {
            # The first sync only learns where "now" is: history is not answered.
            "filter": await self._filter(1 if first else self._settings.timeline_limit),
            "timeout": "0" if first else str(self._settings.sync_timeout_ms),
        }
        if self._token:
            params["since"] = self._token
        self.in_long_poll = True
        try:
            return await raw_call(
                self._client, "sync", "GET", "/_matrix/client/v3/sync?" + urlencode(params),
                give_up_after_s=math.inf,
                timeout_s=self._settings.sync_timeout_ms / 1000 + 30,
            )
        except MatrixCallError as exc:
            if exc.errcode == "M_UNKNOWN_TOKEN":
                raise TokenRejected(str(exc)) from exc
            raise
        finally:
            self.in_long_poll = False

    async def process(self, batch: Mapping[str, Any]) -> None:
        since = self._token
        for event in (batch.get("account_data") or {}).get("events") or []:
            if event.get("type") == "m.direct":
                self._direct.on_account_data(event.get("content") or {})
        rooms = batch.get("rooms") or {}
        for room_id in rooms.get("leave") or {}:
            self._rooms.forget(room_id)
        for room_id, room in (rooms.get("invite") or {}).items():
            await self._invited(room_id, room)
        joined = (rooms.get("join") or {}).items()
        # Rooms side by side, each room's events in order. All rooms finish before a failure
        # is raised, so a retry of the batch never runs beside a room still in progress.
        results = await asyncio.gather(
            *(self._joined(rid, room, since) for rid, room in joined), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
        self._token = str(batch["next_batch"])
        await self._store.set(TOKEN_KEY, self._token)

    # -- invites ---------------------------------------------------------------------

    def _may_invite(self, inviter: str) -> bool:
        allowed = self._settings.allowed_inviters
        if not allowed:
            return True
        server = inviter.split(":", 1)[-1]
        return any(entry == inviter or entry.lstrip(":") == server for entry in allowed)

    async def _invited(self, room_id: str, room: Mapping[str, Any]) -> None:
        events = (room.get("invite_state") or {}).get("events") or []
        invite = next(
            (e for e in events if e.get("type") == "m.room.member"
             and e.get("state_key") == self._me), None,
        )
        inviter = str(invite.get("sender", "")) if invite else ""
        if not self._may_invite(inviter):
            log.info("matrix: declining invite to %s from %s (not allowed)", room_id, inviter)
            await self._quietly("decline invite", lambda: self._client.room_leave(room_id))
            return
        if not await self._quietly("join", lambda: self._client.join(room_id)):
            return
        log.info("matrix: joined %s on %s's invite", room_id, inviter)
        if invite and (invite.get("content") or {}).get("is_direct"):
            await self._direct.remember(inviter, room_id)

    async def _quietly(self, what: str, request: Any) -> bool:
        try:
            await call(what, request)
            return True
        except MatrixCallError as exc:
            log.warning("matrix %s failed: %s", what, exc)
            return False

    # -- joined rooms ----------------------------------------------------------------

    async def _joined(self, room_id: str, room: Mapping[str, Any], since: str | None) -> None:
        for event in (room.get("state") or {}).get("events") or []:
            self._rooms.apply(room_id, event)
        timeline = room.get("timeline") or {}
        events: list[Event] = list(timeline.get("events") or [])
        if since is None:
            for event in events:
                self._rooms.apply(room_id, event)
            return
        joined_here = _last_own_join(events, self._me)
        # A gap before the bot's own join is history it never saw: nothing to fill.
        if timeline.get("limited") and timeline.get("prev_batch") and joined_here is None:
            older = await self._backfill(room_id, str(timeline["prev_batch"]), since)
            log.info("matrix: %s had a gap; back-filled %d events", room_id, len(older))
            events = older + events
            joined_here = _last_own_join(events, self._me)
        history = -1 if joined_here is None else _history_ends(events, self._me, joined_here)
        for i, event in enumerate(events):
            if "state_key" in event:
                self._rooms.apply(room_id, event)
                self._state_changed(room_id, event)
            if i <= history:
                continue  # from before the bot was invited to the room
            await self._handle(room_id, event)
        if joined_here is not None and await self._safe_is_encrypted(room_id):
            await self._router.encrypted_room(room_id)

    def _state_changed(self, room_id: str, event: Event) -> None:
        if event.get("type") == "m.room.member":
            self._direct.on_membership(room_id, str(event.get("state_key")))

    async def _safe_is_encrypted(self, room_id: str) -> bool:
        try:
            return await self._rooms.is_encrypted(room_id)
        except MatrixCallError:
            return False

    async def _handle(self, room_id: str, event: Event) -> None:
        event_id = event.get("event_id")
        if event.get("sender") == self._me or not isinstance(event_id, str):
            return
        if event.get("type") == "m.room.encryption":
            await self._router.encrypted_room(room_id)
            return
        if not await self._handled.should_handle(
            room_id, event_id, lambda: self._answered_after(room_id, event_id)
        ):
            return
        await self._handled.begin(room_id, event_id)
        try:
            with handling_events.inside():
                await self._router.dispatch(room_id, event)
        except Exception:
            # One bad event (or a core bug) must not stop the bot for every room.
            log.exception("matrix: handling %s in %s failed", event_id, room_id)
        # Not reached when cancelled mid-way: then it stays in flight (see handled.py).
        await self._handled.finish(room_id, event_id)

    async def _answered_after(self, room_id: str, event_id: str) -> bool:
        """Did the bot post anything in the room after this event? (Asked after a crash.)

        Read from /context rather than the batch: Synapse may serve a re-sent /sync from its
        response cache, without what happened since.
        """
        path = (f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/context/"
                f"{quote(event_id, safe='')}?limit=50")
        try:
            context = await raw_call(self._client, "context", "GET", path)
        except MatrixCallError:
            return False
        return any(
            e.get("sender") == self._me and e.get("type") in ANSWER_TYPES
            for e in context.get("events_after") or []
        )

    async def _backfill(self, room_id: str, prev_batch: str, since: str) -> list[Event]:
        """Events between the last sync and this timeline, oldest first, from /messages.

        Stops early at the bot's own join: what came before it is none of its business.
        """
        newest_first: list[Event] = []
        start = prev_batch
        for _ in range(BACKFILL_MAX_PAGES):
            params = {
                "from": start, "to": since, "dir": "b", "limit": str(BACKFILL_PAGE),
                "filter": json.dumps({"lazy_load_members": True}),
            }
            try:
                page = await raw_call(
                    self._client, "messages", "GET",
                    f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/messages?"
                    + urlencode(params),
                )
            except MatrixCallError as exc:
                log.error("matrix: back-fill of %s failed: %s", room_id, exc)
                break
            chunk: Sequence[Event] = page.get("chunk") or []
            newest_first.extend(chunk)
            if any(_is_own_join(e, self._me) for e in chunk):
                break
            end = page.get("end")
            if not chunk or not end or end == start:
                break
            start = str(end)
        return list(reversed(newest_first))
