"""The core's outbound port on Matrix."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from nio import AsyncClient, ErrorResponse, UploadResponse
from nio.crypto.attachments import encrypt_attachment

from bot.adapters.matrix.calls import call
from bot.adapters.matrix.content import (
    POLL_END,
    POLL_START,
    bang_commands,
    poll_end_content,
    poll_start_content,
    render_buttons,
    split_body,
)
from bot.adapters.matrix.crypto import Crypto
from bot.adapters.matrix.direct import DirectRooms, NoDirectRoom, handling_events
from bot.adapters.matrix.polls import PollBook, PollInfo
from bot.adapters.matrix.rooms import RoomDirectory
from bot.adapters.matrix.rsvp import RsvpMessages
from bot.adapters.matrix.settings import MatrixSettings
from bot.core.i18n import N_, translator
from bot.core.messages import Button, ChatRef, OutFile, SentMessage, SentPoll, UserRef
from bot.core.ports import CannotDM
from bot.waiting import wait_set

log = logging.getLogger(__name__)

PLATFORM = "matrix"
POLL_ENDED_TEXT = N_("The poll has ended.")


def text_content(body: str) -> dict[str, Any]:
    """m.notice: the convention for bots, and other bots won't answer it. Plain text only,
    no `format`/`formatted_body`: HTML or Markdown in a member's name, title or intro is
    shown as typed, never rendered. And an empty `m.mentions` (intentional mentions,
    Matrix 1.7): the bot mentions nobody, so "@room" or someone's name inside what a
    member wrote notifies no one (without it, clients and Synapse look for names and
    "@room" in the body)."""
    return {"msgtype": "m.notice", "body": body, "m.mentions": {}}


class MatrixMessenger:
    platform = PLATFORM

    def __init__(
        self,
        client: AsyncClient,
        settings: MatrixSettings,
        direct: DirectRooms,
        polls: PollBook,
        rsvp_messages: RsvpMessages,
        ready: asyncio.Event | None = None,
        rooms: RoomDirectory | None = None,
        crypto: Crypto | None = None,
    ) -> None:
        self._client = client
        self._crypto = crypto
        self._settings = settings
        self._direct = direct
        self._polls = polls
        self._rsvp_messages = rsvp_messages
        self._ready = ready
        self._rooms = rooms
        self.translate = translator(settings.language)

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any],
                         txn: str | None = None) -> str:
        """`txn` is the transaction id: the same on every retry, and across a restart when the
        outbox gives one, so the homeserver posts the event once."""
        if self._ready is not None and not self._ready.is_set():
            # Not logged in yet (homeserver unreachable at start): wait, as for a lost line.
            if not await wait_set(self._ready, self._settings.send_retry_s):
                raise TimeoutError("not logged in to the homeserver yet")
        txn = txn or uuid4().hex
        if self._crypto is not None:
            await self._crypto.room_for_send(room_id)
        # Encrypted rooms: every member's device gets the key, verified or not (crypto.py).
        resp: Any = await call(
            f"send {event_type}",
            lambda: self._client.room_send(room_id, event_type, content, tx_id=txn,
                                           ignore_unverified_devices=True),
            give_up_after_s=self._settings.send_retry_s,
        )
        if self._crypto is not None:
            # A send may have made sessions with members' devices: the database's copy of
            # the keys follows at once, so a copy taking over doesn't reuse an old one.
            await self._crypto.save()
        return str(resp.event_id)

    async def send_text(
        self, chat: ChatRef, text: str, buttons: Sequence[Button] = (), *, key: str | None = None
    ) -> SentMessage:
        body, keys = render_buttons(bang_commands(text), buttons)
        # A long answer (a big chapter's !who) goes as several messages, cut at line ends:
        # an event over the homeserver's limit would be refused and nobody answered.
        *before, last = split_body(body)
        for n, piece in enumerate(before):
            await self.send_event(chat.id, "m.room.message", text_content(piece),
                                  _txn(key, f"p{n}"))
        event_id = await self.send_event(chat.id, "m.room.message", text_content(last),
                                         _txn(key))
        if keys:
            await self._rsvp_messages.add(event_id)
        if self._settings.seed_reactions:
            # Offer the RSVP reactions so members tap one instead of hunting for the emoji.
            for n, emoji in enumerate(keys):
                await self.send_event(
                    chat.id,
                    "m.reaction",
                    {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id,
                                      "key": emoji}},
                    _txn(key, f"r{n}"),
                )
        return SentMessage(chat, event_id)

    async def edit_text(
        self, chat: ChatRef, message_id: str, text: str, buttons: Sequence[Button] = (),
        *, key: str | None = None,
    ) -> None:
        body, _ = render_buttons(bang_commands(text), buttons)
        body = split_body(body)[0]  # an edit can't become two messages: the rest is cut
        new = text_content(body)
        await self.send_event(
            chat.id,
            "m.room.message",
            {
                **text_content(f"* {body}"),
                "m.new_content": new,
                "m.relates_to": {"rel_type": "m.replace", "event_id": message_id},
            },
            _txn(key),
        )

    async def send_poll(
        self, chat: ChatRef, question: str, options: Sequence[str], multiple: bool,
        *, key: str | None = None,
    ) -> SentPoll:
        content = poll_start_content(question, options, multiple)
        event_id = await self.send_event(chat.id, POLL_START, content, _txn(key))
        max_sel = len(options) if multiple else 1
        await self._polls.started(event_id, PollInfo(chat.id, len(options), max_sel))
        return SentPoll(chat, event_id, platform_poll_id=event_id)

    async def close_poll(self, poll: SentPoll, *, key: str | None = None) -> None:
        # Marked first: a response racing the end event must not count after the core closed.
        await self._polls.ended(poll.platform_poll_id)
        await self.send_event(
            poll.chat.id, POLL_END,
            poll_end_content(poll.platform_poll_id, self.translate(POLL_ENDED_TEXT)),
            _txn(key),
        )

    async def send_file(self, chat: ChatRef, file: OutFile, caption: str = "",
                        *, key: str | None = None) -> SentMessage:
        content: dict[str, Any] = {
            "msgtype": "m.file",
            "body": split_body(bang_commands(caption))[0] if caption else file.filename,
            "filename": file.filename,
            "info": {"mimetype": file.mime_type, "size": len(file.content)},
        }
        if self._crypto is not None and await self._crypto.encrypts(chat.id):
            # In an encrypted room the file is encrypted too; its key goes in the event.
            data, keys = encrypt_attachment(file.content)
            upload = OutFile(file.filename, data, "application/octet-stream")
            content["file"] = {"url": await self._upload(upload), **keys}
        else:
            content["url"] = await self._upload(file)
        event_id = await self.send_event(chat.id, "m.room.message", content, _txn(key))
        return SentMessage(chat, event_id)

    async def _upload(self, file: OutFile) -> str:
        async def upload() -> UploadResponse | ErrorResponse:
            resp, _keys = await self._client.upload(
                lambda _got_429, _got_timeouts: io.BytesIO(file.content),
                content_type=file.mime_type,
                filename=file.filename,
                filesize=len(file.content),
            )
            return resp

        resp: Any = await call("upload", upload, give_up_after_s=self._settings.send_retry_s)
        return str(resp.content_uri)

    async def send_dm(
        self, user: UserRef, text: str, file: OutFile | None = None, *, key: str | None = None,
        buttons: Sequence[Button] = (),
    ) -> SentMessage:
        """Posts into the person's direct room; CannotDM unless they joined it in time.

        The message goes in before the wait, so someone who accepts the invite late still
        finds it there.
        """
        try:
            room = await self._direct.open_room(user.id)
        except NoDirectRoom as exc:
            log.info("matrix: can't DM %s: %s", user.id, exc)
            raise CannotDM(user, self.start_hint(user)) from exc
        chat = ChatRef(PLATFORM, room.room_id)
        if self._crypto is not None and not room.joined:
            # Invited, not joined yet: the room key must reach their devices all the same.
            await self._crypto.room_for_send(room.room_id, invited=[user.id])
        sent = await self.send_text(chat, text, buttons, key=_txn(key, "text"))
        if file is not None:
            await self.send_file(chat, file, key=_txn(key, "file"))
        if not room.joined and room.wait_s > 0 and handling_events.active():
            # A fresh invite, while the sync loop waits on this: the message is in the room
            # for when they accept. One they leave unanswered is "can't DM" next time.
            log.info("matrix: DM to %s waits in %s for the invite to be accepted",
                     user.id, room.room_id)
            return sent
        try:
            await self._direct.wait_joined(room)
        except NoDirectRoom as exc:
            log.info("matrix: can't DM %s: %s", user.id, exc)
            raise CannotDM(user, self.start_hint(user)) from exc
        return sent

    async def is_member(self, chat: ChatRef, user: UserRef) -> bool:
        """Whether `user` is joined to the room, from the room state the bot keeps (read
        from the homeserver when it has none; bounded, kept current by sync)."""
        if self._rooms is None:
            return True
        return (await self._rooms.get(chat.id)).membership(user.id) == "join"

    def start_hint(self, user: UserRef) -> str:
        return (
            f"accept my invite to a direct chat, or start one with {self._settings.user_id}"
        )


def _txn(key: str | None, part: str = "") -> str | None:
    """A transaction id derived from an outbox row's key, one per event the row posts."""
    if key is None:
        return None
    return f"{key}.{part}" if part else key
