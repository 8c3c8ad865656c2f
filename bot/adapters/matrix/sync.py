"""The sync loop: long-polls /sync, fills gaps from /messages, hands events to the router.

What "exactly once" rests on:
- the core records each event's id in the transaction of its effect and drops a repeat, so
  handing it an event twice is harmless, and the adapter keeps no guess of its own;
- the sync token is saved only after every event of the batch was handed to the core and
  came back done (or failed for good), so a restart reads an unfinished batch again;
- a `limited` timeline (more happened than one sync returns) is filled from /messages,
  oldest first, from the previous token on. A fill that stops early (the page limit, a failed
  page) hands over what it has, keeps its position (`gap:<room>`) and leaves the token where
  it was: the next sync resumes the fill there, so the gap is never skipped;
- an event the core could not handle for a passing reason (the database or the homeserver
  unreachable) is tried again, and if that keeps failing the token stays before it.

One room can't stall the others: an error in one room's part of the batch (or in an
invite) that is no passing failure is logged with the room's id, and the batch is read again
at most ROOM_ATTEMPTS times for it; then that room's part is skipped and the token moves on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from nio import AsyncClient

from bot.adapters.matrix.calls import NETWORK_ERRORS, Backoff, MatrixCallError, call, raw_call
from bot.adapters.matrix.crypto import Crypto
from bot.adapters.matrix.direct import DirectRooms, handling_events
from bot.adapters.matrix.inbound import EventRouter
from bot.adapters.matrix.rooms import RoomDirectory
from bot.adapters.matrix.settings import MatrixSettings
from bot.adapters.matrix.state import StateStore, state_key
from bot.db.session import database_unreachable
from bot.waiting import wait_set

log = logging.getLogger(__name__)

Event = Mapping[str, Any]
BACKFILL_PAGE = 100
BACKFILL_MAX_PAGES = 50

TOKEN_KEY = "next_batch"
GAP_PREFIX = "gap:"
PAGE_ERRORS: tuple[type[BaseException], ...] = (MatrixCallError, *NETWORK_ERRORS)
PAGE_PATIENCE_S = 30.0
HANDLE_ATTEMPTS = 5  # per event and batch: waits of 0.5, 1, 2, 4 s between them
ROOM_ATTEMPTS = 3  # reads of one batch a room's bug may cost, then its part is skipped
# A batch of nothing but chatter moves the token in memory only; it is written down with the
# next batch that did something, or after this long. Read again after a restart, such a
# batch changes nothing, so chatter costs no database write.
IDLE_TOKEN_SAVE_S = 300.0
# A batch whose events the core handled is written down at most this often: the core records
# each event's id with its effect, so one read again after a crash changes nothing. Writing
# the token after every command cost a transaction of its own per command.
HANDLED_TOKEN_SAVE_S = 2.0


class TokenRejected(Exception):
    """The access token no longer works (M_UNKNOWN_TOKEN): log in again."""


class BatchUnfinished(Exception):
    """Part of the batch is not handled yet: its token must not be saved. The batch is read
    again (from the same token) after a wait, or at once when `at_once` (a long gap whose
    fill stopped at the page limit: nothing is wrong, there is just more to read)."""

    def __init__(self, why: str, at_once: bool = False) -> None:
        super().__init__(why)
        self.at_once = at_once


def is_transient(exc: BaseException) -> bool:
    """A failure that waiting may cure: the database or the homeserver out of reach."""
    return isinstance(exc, NETWORK_ERRORS) or database_unreachable(exc)


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
        crypto: Crypto | None = None,
    ) -> None:
        self._client = client
        self._crypto = crypto
        self._settings = settings
        self._store = store
        self._router = router
        self._rooms = rooms
        self._direct = direct
        self._token: str | None = None
        self.in_long_poll = False
        self._filter_ids: dict[int, str] = {}
        # Rooms whose part of the batch in hand failed, and how often; emptied when the
        # token moves on (so it holds at most the rooms of one batch).
        self._room_failures: dict[str, int] = {}
        self._acted = False  # the batch in hand joined a room, parked an event, …
        self._handled = False  # events went to the core since the token was last written
        self._saved_at = -math.inf  # monotonic time the token was last written down

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
            try:
                await self.process(batch)
            except BatchUnfinished as exc:
                if exc.at_once:
                    log.info("matrix: %s; reading on", exc)
                    continue
                wait = backoff.next()
                log.warning("matrix: %s; reading the batch again in %.0fs", exc, wait)
                await self._pause(stopping, wait)
                continue
            backoff.reset()

    @staticmethod
    async def _pause(stopping: asyncio.Event, seconds: float) -> None:
        await wait_set(stopping, seconds)

    async def _sync(self) -> dict[str, Any]:
        first = self._token is None
        params = {
            # The first sync only learns where "now" is: history is not answered.
            "filter": await self._filter(1 if first else self._settings.timeline_limit),
            "timeout": "0" if first else str(self._poll_ms()),
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

    def _poll_ms(self) -> int:
        """How long the homeserver may hold the sync: while handled events wait for their
        token to be written, no longer than until it is due, so a quiet room still gets it
        written within HANDLED_TOKEN_SAVE_S (by the empty batch that then comes back)."""
        if not self._handled:
            return self._settings.sync_timeout_ms
        due_s = HANDLED_TOKEN_SAVE_S - (time.monotonic() - self._saved_at)
        if due_s <= 0:  # also never written yet (-inf)
            return 0
        return min(self._settings.sync_timeout_ms, int(due_s * 1000) + 50)

    @property
    def _encrypting(self) -> bool:
        return self._crypto is not None and self._crypto.on

    async def process(self, batch: Mapping[str, Any]) -> None:
        since = self._token
        if self._crypto is not None:
            await self._crypto.take(batch)
        for event in (batch.get("account_data") or {}).get("events") or []:
            if event.get("type") == "m.direct":
                self._direct.on_account_data(event.get("content") or {})
        rooms = batch.get("rooms") or {}
        for room_id in rooms.get("leave") or {}:
            self._rooms.forget(room_id)
            self._acted = True
        failed: list[BaseException] = []
        for room_id, room in (rooms.get("invite") or {}).items():
            try:
                await self._isolated("invite", room_id, self._invited(room_id, room))
            except BatchUnfinished as exc:
                failed.append(exc)
        joined = (rooms.get("join") or {}).items()
        # Rooms side by side, each room's events in order. All rooms finish before a failure
        # is raised, so a retry of the batch never runs beside a room still in progress.
        results = await asyncio.gather(
            *(self._isolated("room", rid, self._joined(rid, room, since)) for rid, room in joined),
            return_exceptions=True,
        )
        failed += [r for r in results if isinstance(r, BaseException)]
        if self._crypto is not None:
            self._crypto.done_with_batch()
            if not failed:
                await self._handle_decryptable()
        if failed:
            # The failure that asks for the longest wait: an error, then a room that must
            # wait, then a gap that can go on at once.
            raise min(failed, key=lambda r: (isinstance(r, BatchUnfinished),
                                             isinstance(r, BatchUnfinished) and r.at_once))
        self._token = str(batch["next_batch"])
        self._room_failures.clear()
        if self._crypto is not None:
            await self._crypto.save()  # before the token: a restart reads on from both
        waited = time.monotonic() - self._saved_at
        if (since is None or self._acted or (self._handled and waited >= HANDLED_TOKEN_SAVE_S)
                or waited > IDLE_TOKEN_SAVE_S):
            await self._save_token()

    async def _save_token(self) -> None:
        assert self._token is not None
        await self._store.set(TOKEN_KEY, self._token)
        self._saved_at = time.monotonic()
        self._acted = self._handled = False

    async def save_position(self) -> None:
        """At a stop: the token of the last batch handled, if not written down yet."""
        if self._token is not None and self._handled:
            await self._save_token()

    async def _isolated(self, what: str, room_id: str, work: Awaitable[None]) -> None:
        """Runs one room's part of the batch. A passing failure (database, homeserver) keeps
        the batch unfinished for as long as it lasts; any other error is logged with the
        room's id and costs the batch at most ROOM_ATTEMPTS reads, then the part is skipped."""
        try:
            await work
        except BatchUnfinished:
            raise
        except Exception as exc:
            if is_transient(exc):
                raise BatchUnfinished(f"the {what} {room_id} failed ({exc!r})") from exc
            tries = self._room_failures[room_id] = self._room_failures.get(room_id, 0) + 1
            if tries < ROOM_ATTEMPTS:
                log.warning("matrix: the %s %s failed (%r), try %d of %d", what, room_id, exc,
                            tries, ROOM_ATTEMPTS)
                raise BatchUnfinished(f"the {what} {room_id} failed") from exc
            log.exception("matrix: the %s %s failed %d times; its part of the batch is "
                          "skipped", what, room_id, tries)

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
        self._acted = True
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
        # The state section is the room's state where the timeline starts (after any gap).
        state: list[Event] = list((room.get("state") or {}).get("events") or [])
        timeline = room.get("timeline") or {}
        events: list[Event] = list(timeline.get("events") or [])
        if since is None:
            for event in state + events:
                self._rooms.apply(room_id, event)
            return
        joined_here = _last_own_join(events, self._me)
        # A gap before the bot's own join is history it never saw: nothing to fill.
        if timeline.get("limited") and timeline.get("prev_batch") and joined_here is None:
            gap = await self._fill_gap(room_id, str(timeline["prev_batch"]), since)
            log.info("matrix: %s had a gap; back-filled %d events%s", room_id,
                     len(gap.events), "" if gap.complete else " (not all yet)")
            seen = {e.get("event_id") for e in events}
            older = [e for e in gap.events if e.get("event_id") not in seen]
            # What was read is handed over in order; the timeline waits for the rest.
            await self._handle_all(room_id, older)
            if not gap.complete:
                await self._store.set(gap.key, gap.position)
                raise BatchUnfinished(f"the gap in {room_id} is not filled yet",
                                      at_once=gap.failed is None)
            if gap.resumed:
                self._acted = True  # the token must move with the cleared position
                await self._store.set(gap.key, "")
            joined_here = _last_own_join(older, self._me)
        for event in state:
            self._rooms.apply(room_id, event)
        await self._handle_all(room_id, events)
        if (joined_here is not None and not self._encrypting
                and await self._safe_is_encrypted(room_id)):
            await self._router.encrypted_room(room_id)

    async def _handle_all(self, room_id: str, events: Sequence[Event]) -> None:
        """Applies each state event and hands each event to the router, in order, except
        history from before the bot was invited."""
        joined_here = _last_own_join(events, self._me)
        history = -1 if joined_here is None else _history_ends(events, self._me, joined_here)
        for i, event in enumerate(events):
            if "state_key" in event:
                self._rooms.apply(room_id, event)
                self._state_changed(room_id, event)
            if i <= history:
                continue  # from before the bot was invited to the room
            await self._handle(room_id, event)

    def _state_changed(self, room_id: str, event: Event) -> None:
        if event.get("type") == "m.room.member":
            self._direct.on_membership(room_id, str(event.get("state_key")))

    async def _safe_is_encrypted(self, room_id: str) -> bool:
        try:
            return await self._rooms.is_encrypted(room_id)
        except MatrixCallError:
            return False

    async def _handle(self, room_id: str, event: Event) -> None:
        """Hands one event to the router (and on to the core), trying again when it fails.

        The core records the event's id with its effect and drops a repeat, so trying again
        can't count it twice. A passing failure that lasts raises BatchUnfinished: the token
        stays before this event. Any other failure (a bug) is logged and the event dropped
        after the last attempt: one bad event must not stop the bot for every room.
        """
        event_id = event.get("event_id")
        if event.get("sender") == self._me or not isinstance(event_id, str):
            return
        if event.get("type") == "m.room.encryption":
            if not self._encrypting:
                self._acted = True
                await self._router.encrypted_room(room_id)
            return
        if event.get("type") == "m.room.encrypted" and self._crypto is not None \
                and self._encrypting:
            plain = self._crypto.plain(room_id, event)
            log.debug("matrix: encrypted %s in %s: %s", event_id, room_id,
                      "decrypted" if plain is not None else "no key yet")
            if plain is None:
                self._acted = True
                await self._crypto.park(room_id, event)
                return
            event = plain
        backoff = Backoff(first=0.5, cap=8.0)
        for attempt in range(1, HANDLE_ATTEMPTS + 1):
            try:
                with handling_events.inside():
                    if await self._router.dispatch(room_id, event):
                        self._handled = True
                return
            except Exception as exc:
                self._acted = True
                last = attempt == HANDLE_ATTEMPTS
                if last and is_transient(exc):
                    raise BatchUnfinished(
                        f"{event_id} in {room_id} still fails ({exc!r})") from exc
                if last:
                    log.exception("matrix: handling %s in %s failed %d times; dropped",
                                  event_id, room_id, attempt)
                    return
                wait = backoff.next()
                log.warning("matrix: handling %s in %s failed (%r); trying again in %.1fs",
                            event_id, room_id, exc, wait)
                await asyncio.sleep(wait)

    async def _handle_decryptable(self) -> None:
        """Events kept because their key was missing: handled now that it came (the core
        drops one it has handled, so none is answered twice); the sender of one whose key
        never comes is told once."""
        assert self._crypto is not None
        readable, overdue = await self._crypto.due()
        for room_id, event in readable:
            self._acted = True
            log.info("matrix: %s in %s decrypted now that its key came", event.get("event_id"),
                     room_id)
            if event.get("sender") != self._me:
                await self._handle(room_id, event)
        for parked in overdue:
            self._acted = True
            await self._router.undecryptable(parked.room_id, parked.event)

    async def _fill_gap(self, room_id: str, prev_batch: str, since: str) -> Gap:
        """The events between the last sync (`since`) and this timeline (`prev_batch`),
        oldest first, from /messages, resuming where an earlier fill of this gap stopped.

        At most BACKFILL_MAX_PAGES pages at a time; a failed page ends the fill too. Either way
        the Gap is not complete and says where to go on from.
        """
        key = state_key(GAP_PREFIX, room_id)
        start = since
        raw = await self._store.get(key)
        saved = json.loads(raw) if raw else None
        resumed = saved is not None
        if saved and saved.get("since") == since:
            start = str(saved["from"])
        gap = Gap(key=key, since=since, position_from=start, resumed=resumed)
        for _ in range(BACKFILL_MAX_PAGES):
            params = {
                "from": start, "to": prev_batch, "dir": "f", "limit": str(BACKFILL_PAGE),
                "filter": json.dumps({"lazy_load_members": True}),
            }
            try:
                page = await self._messages(room_id, params)
            except PAGE_ERRORS as exc:
                log.error("matrix: back-fill of %s failed: %s", room_id, exc)
                gap.failed = exc
                return gap
            chunk: Sequence[Event] = page.get("chunk") or []
            gap.events.extend(chunk)
            end = page.get("end")
            if not chunk or not end or end == start:
                gap.complete = True
                return gap
            start = gap.position_from = str(end)
        return gap

    async def _messages(self, room_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        return await raw_call(
            self._client, "messages", "GET",
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/messages?" + urlencode(params),
            give_up_after_s=PAGE_PATIENCE_S,
        )


@dataclass
class Gap:
    """A fill of one room's gap: what was read, and where to go on from."""

    key: str
    since: str
    position_from: str
    resumed: bool
    events: list[Event] = field(default_factory=list)
    complete: bool = False
    failed: BaseException | None = None

    @property
    def position(self) -> str:
        return json.dumps({"since": self.since, "from": self.position_from})
