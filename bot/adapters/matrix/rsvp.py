"""RSVP by reaction: which messages take them, and which reactions each person has standing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.adapters.cache import BoundedCache
from bot.adapters.matrix.state import StateStore, state_key
from bot.core.messages import RsvpAnswer


class RsvpMessages:
    """The bot's messages that carry RSVP reaction hints (its announcements)."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._known: BoundedCache[str, bool] = BoundedCache(10_000)

    async def add(self, event_id: str) -> None:
        self._known[event_id] = True
        await self._store.set(state_key("rsvp_msg:", event_id), "1")

    async def contains(self, event_id: str) -> bool:
        known = self._known.get(event_id)
        if known is None:
            known = bool(await self._store.get(state_key("rsvp_msg:", event_id)))
            self._known[event_id] = known
        return known


class Reactions:
    """Which RSVP reactions each person has on each message, so a removal can be undone.

    A redacted reaction loses its content, so what it was is kept here: per reaction, its
    target and sender; per (target, sender), the reactions still standing, oldest first.

    Both steps may run again for the same event (a batch read again after a crash): adding a
    reaction twice keeps one, and a removal read again gives the answer it gave the first time
    (kept with the removed reaction), so the core can be handed it again and drop the repeat.
    """

    def __init__(self, store: StateStore) -> None:
        self._store = store

    @staticmethod
    def _standing_key(target: str, sender: str) -> str:
        return "rx:" + hashlib.sha1(f"{target}|{sender}".encode()).hexdigest()

    async def _standing(self, target: str, sender: str) -> list[list[str]]:
        raw = await self._store.get(self._standing_key(target, sender))
        return json.loads(raw) if raw else []

    async def _record(self, event_id: str) -> list[Any] | None:
        """[target, sender] while standing; [target, sender, redaction, answer, changed] once
        removed; None when unknown (or removed before removals were recorded)."""
        raw = await self._store.get(state_key("reaction:", event_id))
        return json.loads(raw) if raw else None

    async def added(self, event_id: str, target: str, sender: str, answer: RsvpAnswer) -> bool:
        """False when this reaction was seen before and has since been removed."""
        raw = await self._store.get(state_key("reaction:", event_id))
        if raw is not None and (raw == "" or len(json.loads(raw)) > 2):
            return False
        standing = await self._standing(target, sender)
        if all(r[0] != event_id for r in standing):
            standing.append([event_id, answer.value])
            await self._store.set(self._standing_key(target, sender), json.dumps(standing))
        if raw is None:
            await self._store.set(state_key("reaction:", event_id), json.dumps([target, sender]))
        return True

    async def removed(
        self, redaction_id: str, event_id: str
    ) -> tuple[str, str, RsvpAnswer | None] | None:
        """(target, sender, the answer that now stands) if a change of answer, else None."""
        record = await self._record(event_id)
        if record is None:
            return None
        target, sender = record[0], record[1]
        standing = await self._standing(target, sender)
        if len(record) == 2:  # first time: work out and keep what the removal means
            was_latest = bool(standing) and standing[-1][0] == event_id
            rest = [r for r in standing if r[0] != event_id]
            now = rest[-1][1] if rest else None
            record = [target, sender, redaction_id, now, was_latest]
            await self._store.set(state_key("reaction:", event_id), json.dumps(record))
        elif record[2] != redaction_id:
            return None  # a second redaction of a reaction already removed
        rest = [r for r in standing if r[0] != event_id]
        if rest != standing:
            await self._store.set(self._standing_key(target, sender), json.dumps(rest))
        if not record[4]:
            return None
        return target, sender, RsvpAnswer(record[3]) if record[3] is not None else None
