"""RSVP by reaction: which messages take them, and which reactions each person has standing."""

from __future__ import annotations

import hashlib
import json

from bot.adapters.matrix.state import StateStore, state_key
from bot.core.messages import RsvpAnswer


class RsvpMessages:
    """The bot's messages that carry RSVP reaction hints (its announcements)."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._known: dict[str, bool] = {}

    async def add(self, event_id: str) -> None:
        self._known[event_id] = True
        await self._store.set(state_key("rsvp_msg:", event_id), "1")

    async def contains(self, event_id: str) -> bool:
        if event_id not in self._known:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[event_id] = bool(await self._store.get(state_key("rsvp_msg:", event_id)))
        return self._known[event_id]


class Reactions:
    """Which RSVP reactions each person has on each message, so a removal can be undone.

    A redacted reaction loses its content, so what it was is kept here: per reaction, its
    target and sender; per (target, sender), the reactions still standing, oldest first.
    """

    def __init__(self, store: StateStore) -> None:
        self._store = store

    @staticmethod
    def _standing_key(target: str, sender: str) -> str:
        return "rx:" + hashlib.sha1(f"{target}|{sender}".encode()).hexdigest()

    async def _standing(self, target: str, sender: str) -> list[list[str]]:
        raw = await self._store.get(self._standing_key(target, sender))
        return json.loads(raw) if raw else []

    async def added(self, event_id: str, target: str, sender: str, answer: RsvpAnswer) -> None:
        standing = await self._standing(target, sender)
        standing.append([event_id, answer.value])
        await self._store.set(self._standing_key(target, sender), json.dumps(standing))
        await self._store.set(state_key("reaction:", event_id), json.dumps([target, sender]))

    async def removed(self, event_id: str) -> tuple[str, str, RsvpAnswer | None] | None:
        """(target, sender, the answer that now stands) if a change of answer, else None."""
        raw = await self._store.get(state_key("reaction:", event_id))
        if not raw:
            return None
        target, sender = json.loads(raw)
        await self._store.set(state_key("reaction:", event_id), "")
        standing = await self._standing(target, sender)
        was_latest = bool(standing) and standing[-1][0] == event_id
        standing = [r for r in standing if r[0] != event_id]
        await self._store.set(self._standing_key(target, sender), json.dumps(standing))
        if not was_latest:
            return None
        return target, sender, RsvpAnswer(standing[-1][1]) if standing else None
