"""What a unit of work owes people, kept in the database until it is delivered.

Use cases queue messages here; when the unit of work ends, they are written as rows of the
`outbox` table in the same transaction as the change they announce, so a crash can delay them
but never lose them. Replies to whoever acted are written first (the reply lane), then the
rest in the order queued: an answer is never overtaken by the DMs it causes. Two edits of one
message that are both still waiting become one, with the latest text.

Sending a row (`send_row`) touches no database: the unit of work claims the row, sends it, and
records what the platform answered (bot/core/unit.py).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.messages import Button, ChatRef, OutFile, SentMessage, SentPoll, UserRef
from bot.core.ports import CannotDM, Messenger
from bot.db.models import OutboxKind, OutboxMessage, OutboxStatus, PostKind

log = logging.getLogger(__name__)

Payload = dict[str, Any]


@dataclass(frozen=True)
class Posted:
    """Where to file a post once the platform has given it an id."""

    chapter_id: int
    kind: PostKind
    meetup_id: int | None = None
    poll_id: int | None = None


@dataclass
class Entry:
    """One queued message, as it will be stored."""

    kind: OutboxKind
    platform: str
    chat_key: str
    payload: Payload
    target_message_id: str | None = None


def chat_key(chat: ChatRef) -> str:
    return f"{chat.platform}:{chat.id}"


def chat_of_key(key: str) -> ChatRef | None:
    """The chat a `chat_key` names; None for a DM row's key (`dm:<person id>`)."""
    platform, _, chat_id = key.partition(":")
    return None if platform == "dm" or not chat_id else ChatRef(platform, chat_id)


class Outbox:
    def __init__(self) -> None:
        self._replies: list[Entry] = []
        self._entries: list[Entry] = []
        # Live events for the wall's open pages (WallBus.publish), handed over after the commit.
        self.live: list[dict[str, Any]] = []

    def reply(self, chat: ChatRef, text: str, buttons: Sequence[Button] = ()) -> None:
        """The answer to whoever acted: sent before everything else this unit queued."""
        self._replies.append(Entry(OutboxKind.TEXT, chat.platform, chat_key(chat), {
            "chat": chat.id, "text": text, "buttons": _buttons(buttons)}))

    def text(self, chat: ChatRef, text: str, buttons: Sequence[Button] = (),
             record: Posted | None = None) -> None:
        self._entries.append(Entry(OutboxKind.TEXT, chat.platform, chat_key(chat), {
            "chat": chat.id, "text": text, "buttons": _buttons(buttons),
            "record": _record(record)}))

    def edit(self, chat: ChatRef, message_id: str, text: str,
             buttons: Sequence[Button] = ()) -> None:
        payload = {"chat": chat.id, "message_id": message_id, "text": text,
                   "buttons": _buttons(buttons)}
        for queued in self._entries:  # edited twice in one unit: the latest text
            if (queued.kind is OutboxKind.EDIT and queued.chat_key == chat_key(chat)
                    and queued.target_message_id == message_id):
                queued.payload = payload
                return
        self._entries.append(Entry(OutboxKind.EDIT, chat.platform, chat_key(chat), payload,
                                   message_id))

    def poll(self, chat: ChatRef, question: str, options: Sequence[str], multiple: bool,
             record: Posted) -> None:
        self._entries.append(Entry(OutboxKind.POLL, chat.platform, chat_key(chat), {
            "chat": chat.id, "question": question, "options": list(options),
            "multiple": multiple, "record": _record(record)}))

    def close_poll(self, poll: SentPoll) -> None:
        self._entries.append(Entry(OutboxKind.CLOSE_POLL, poll.chat.platform,
                                   chat_key(poll.chat), {
                                       "chat": poll.chat.id, "message_id": poll.message_id,
                                       "platform_poll_id": poll.platform_poll_id}))

    def file(self, chat: ChatRef, file: OutFile, caption: str = "") -> None:
        self._entries.append(Entry(OutboxKind.FILE, chat.platform, chat_key(chat), {
            "chat": chat.id, "file": _file(file), "caption": caption}))

    def add(self, entry: Entry) -> None:
        self._entries.append(entry)

    def dm(self, targets: Sequence[UserRef], text: str, file: OutFile | None,
           on_failure: tuple[int, int, int | None], reminder_id: int | None = None,
           name_if_refused: bool = True, buttons: Sequence[Button] = (),
           record: Posted | None = None, reminder_due: datetime | None = None) -> None:
        """DM the first of the person's accounts that accepts; (person, chapter, meetup)
        say where to name them when none does (unless not `name_if_refused`). `record` files
        the DM like a post, in the private chat it went to (so its buttons or reactions find
        their meetup). A reminder's DM carries its id and when it was due (its lateness is
        counted when it is sent)."""
        person_id, chapter_id, meetup_id = on_failure
        named = {} if name_if_refused else {"name": False}
        self._entries.append(Entry(OutboxKind.DM, targets[0].platform, f"dm:{person_id}", {
            "targets": [[u.platform, u.id, u.display_name] for u in targets], "text": text,
            "file": _file(file) if file else None, "buttons": _buttons(buttons),
            "record": _record(record),
            "on_failure": {"person_id": person_id, "chapter_id": chapter_id,
                           "meetup_id": meetup_id, **named},
            "reminder_id": reminder_id,
            **({"reminder_due": reminder_due.isoformat()} if reminder_due else {})}))

    async def store(self, s: AsyncSession, now: datetime, claimed_until: datetime,
                    serves: Callable[[str], bool]) -> list[Claimed]:
        """Write the queued messages as outbox rows, those of platforms this copy `serves`
        claimed until `claimed_until` so it can send them right after the commit; returns
        those, in order. The others wait, unclaimed, for a copy that serves their platform."""
        entries = self._replies + self._entries
        self._replies, self._entries = [], []
        if not entries:
            return []
        # Core statements on the session's connection: no ORM bookkeeping for rows no one
        # loads in this session.
        conn = await s.connection()
        slots: list[Claimed | None] = [None] * len(entries)
        fresh: list[int] = []
        for at, entry in enumerate(entries):
            if not serves(entry.platform):
                fresh.append(at)
                continue
            if entry.kind is OutboxKind.EDIT:
                merged = (await conn.execute(_MERGE_EDIT, {
                    "e_key": entry.chat_key, "e_target": entry.target_message_id, "e_now": now,
                    "e_payload": _dump(entry.payload), "e_until": claimed_until})).scalar()
                if merged is not None:
                    slots[at] = Claimed(merged, entry.kind, entry.platform, entry.payload,
                                        claimed_until)
                    continue
            fresh.append(at)
        if fresh:
            # One statement for a whole fan-out. Its ids are handed out in the order of its
            # rows (SQLite's rowids, PostgreSQL's sequence, one statement), so sorted they
            # match the entries.
            ids = (await conn.execute(_INSERT_ROW, [
                {"kind": e.kind, "platform": e.platform, "chat_key": e.chat_key,
                 "target_message_id": e.target_message_id, "payload": _dump(e.payload),
                 "status": OutboxStatus.PENDING, "attempts": 1, "created_at": now,
                 "claimed_until": claimed_until if serves(e.platform) else None}
                for e in (entries[at] for at in fresh)])).scalars()
            for at, row_id in zip(fresh, sorted(ids), strict=True):
                entry = entries[at]
                if serves(entry.platform):
                    slots[at] = Claimed(row_id, entry.kind, entry.platform, entry.payload,
                                        claimed_until)
        return [c for c in slots if c is not None]


# Compiled once: an edit still waiting (unclaimed) takes the new text; a new row.
_MERGE_EDIT = (
    update(OutboxMessage).where(
        OutboxMessage.kind == OutboxKind.EDIT,
        OutboxMessage.chat_key == bindparam("e_key"),
        OutboxMessage.target_message_id == bindparam("e_target"),
        OutboxMessage.status == OutboxStatus.PENDING,
        or_(OutboxMessage.claimed_until.is_(None),
            OutboxMessage.claimed_until <= bindparam("e_now")))
    .values(payload=bindparam("e_payload"), claimed_until=bindparam("e_until"))
    .returning(OutboxMessage.id))
_INSERT_ROW = insert(OutboxMessage).returning(OutboxMessage.id)


@dataclass(frozen=True)
class Claimed:
    """An outbox row this process may send now, claimed until `lease`."""

    id: int
    kind: OutboxKind
    platform: str
    payload: Payload
    lease: datetime
    # The first row a command's handling sends: when (time.monotonic()) the command reached
    # the core, for the reply latency; None for every other row.
    received: float | None = None


def _dump(payload: Payload) -> str:
    return json.dumps(payload, ensure_ascii=False)


@dataclass
class Delivered:
    """What the platform answered for one row."""

    message_id: str | None = None
    platform_poll_id: str | None = None
    chat: ChatRef | None = None  # a DM's private chat; else the row's own chat
    failure: CannotDM | None = None  # a DM no account of the person accepted
    passed_on: list[UserRef] | None = None  # a DM's accounts left for a copy that serves them
    error: bool = False  # the platform refused it for another reason (logged)
    posted: dict[str, Any] | None = field(default=None)  # where to file the post, if at all


async def send_row(messenger: Callable[[str], Messenger], serves: Callable[[str], bool],
                   row: Claimed) -> Delivered:
    """Send one row. The row's id is the idempotency key the platform may use."""
    key = f"irl-out-{row.id}"
    kind, platform, payload = row.kind, row.platform, row.payload
    record = payload.get("record")
    if kind is OutboxKind.DM:
        targets = [UserRef(p, i, n) for p, i, n in payload["targets"]]
        here = list(targets[:_first_elsewhere(targets, serves)])
        if not here:
            return Delivered(passed_on=targets)
        file = _out_file(payload["file"]) if payload.get("file") else None
        result = await dm_first_accepting(messenger, here, payload["text"], file, key,
                                          _button_values(payload.get("buttons") or []))
        if isinstance(result, SentMessage):
            return Delivered(result.message_id, chat=result.chat, posted=record)
        if len(here) < len(targets):
            return Delivered(failure=result, passed_on=targets[len(here):])
        return Delivered(failure=result)
    chat = ChatRef(platform, payload["chat"])
    m = messenger(platform)
    if kind is OutboxKind.TEXT:
        sent = await m.send_text(chat, payload["text"], _button_values(payload["buttons"]),
                                 key=key)
        return Delivered(sent.message_id, posted=record)
    if kind is OutboxKind.EDIT:
        await m.edit_text(chat, payload["message_id"], payload["text"],
                          _button_values(payload["buttons"]), key=key)
        return Delivered()
    if kind is OutboxKind.POLL:
        poll = await m.send_poll(chat, payload["question"], tuple(payload["options"]),
                                 payload["multiple"], key=key)
        return Delivered(poll.message_id, poll.platform_poll_id, posted=record)
    if kind is OutboxKind.CLOSE_POLL:
        await m.close_poll(SentPoll(chat, payload["message_id"], payload["platform_poll_id"]),
                           key=key)
        return Delivered()
    sent = await m.send_file(chat, _out_file(payload["file"]), payload["caption"], key=key)
    return Delivered(sent.message_id)


async def dm_first_accepting(messenger: Callable[[str], Messenger], targets: Sequence[UserRef],
                             text: str, file: OutFile | None, key: str | None = None,
                             buttons: Sequence[Button] = ()) -> SentMessage | CannotDM:
    """DM the first of a person's accounts that accepts: what it sent, else the last
    refusal."""
    assert targets
    failure = CannotDM(targets[-1])
    for user in targets:
        try:
            if buttons:  # only then: a messenger that takes none still sends the rest
                return await messenger(user.platform).send_dm(user, text, file, key=key,
                                                              buttons=buttons)
            return await messenger(user.platform).send_dm(user, text, file, key=key)
        except CannotDM as exc:
            failure = exc
    return failure


def _first_elsewhere(targets: Sequence[UserRef], serves: Callable[[str], bool]) -> int:
    """How many of the accounts, in order, this copy can try before one it can't."""
    for at, user in enumerate(targets):
        if not serves(user.platform):
            return at
    return len(targets)


def pass_on(payload: Payload, targets: Sequence[UserRef]) -> Entry:
    """The same DM, for the accounts another copy serves."""
    rest = dict(payload, targets=[[u.platform, u.id, u.display_name] for u in targets])
    person = payload["on_failure"]["person_id"]
    return Entry(OutboxKind.DM, targets[0].platform, f"dm:{person}", rest)


def _buttons(buttons: Sequence[Button]) -> list[list[str]]:
    return [[b.label, b.payload] for b in buttons]


def _button_values(raw: list[list[str]]) -> tuple[Button, ...]:
    return tuple(Button(label, payload) for label, payload in raw)


def _record(record: Posted | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"chapter_id": record.chapter_id, "kind": record.kind.value,
            "meetup_id": record.meetup_id, "poll_id": record.poll_id}


def _file(file: OutFile) -> dict[str, str]:
    return {"filename": file.filename, "mime_type": file.mime_type,
            "content": base64.b64encode(file.content).decode("ascii")}


def _out_file(raw: dict[str, str]) -> OutFile:
    return OutFile(raw["filename"], base64.b64decode(raw["content"]), raw["mime_type"])
