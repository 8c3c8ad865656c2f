"""Messages a unit of work wants sent, sent only once its transaction has committed.

Sending inside the transaction would hold the database (SQLite's one writer, PostgreSQL's row
locks) for as long as a platform's rate limits make a send wait: seconds, for a busy group.
So use cases queue their sends here; the core sends them after the commit, then records in
a short second transaction what the platforms answered (message and poll ids) and whom it
could not reach by DM. Replies to the person who acted go first (the reply lane), then the
rest in the order queued: an answer is never overtaken by the DMs it causes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.core.messages import Button, ChatRef, OutFile, SentPoll, UserRef
from bot.core.ports import CannotDM, Messenger
from bot.db.models import PostKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Posted:
    """Where to file a post once the platform has given it an id."""

    chapter_id: int
    kind: PostKind
    meetup_id: int | None = None
    poll_id: int | None = None


@dataclass(frozen=True)
class DmFailure:
    person_id: int
    chapter_id: int
    meetup_id: int | None
    failure: CannotDM


@dataclass
class Results:
    posted: list[dict[str, object]] = field(default_factory=list)
    failures: list[DmFailure] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.posted or self.failures)


Send = Callable[[Callable[[str], Messenger], Results], Awaitable[None]]


class Outbox:
    def __init__(self) -> None:
        self._replies: list[Send] = []
        self._sends: list[Send] = []

    def __len__(self) -> int:
        return len(self._replies) + len(self._sends)

    def reply(self, chat: ChatRef, text: str, buttons: Sequence[Button] = ()) -> None:
        """The answer to whoever acted: sent before everything else this unit queued."""
        async def send(messenger: Callable[[str], Messenger], results: Results) -> None:
            await messenger(chat.platform).send_text(chat, text, tuple(buttons))
        self._replies.append(send)

    def text(self, chat: ChatRef, text: str, buttons: Sequence[Button] = (),
             record: Posted | None = None) -> None:
        async def send(messenger: Callable[[str], Messenger], results: Results) -> None:
            sent = await messenger(chat.platform).send_text(chat, text, tuple(buttons))
            if record is not None:
                results.posted.append(_row(record, chat, sent.message_id, None))
        self._sends.append(send)

    def edit(self, chat: ChatRef, message_id: str, text: str,
             buttons: Sequence[Button] = ()) -> None:
        async def send(messenger: Callable[[str], Messenger], results: Results) -> None:
            await messenger(chat.platform).edit_text(chat, message_id, text, tuple(buttons))
        self._sends.append(send)

    def poll(self, chat: ChatRef, question: str, options: Sequence[str], multiple: bool,
             record: Posted) -> None:
        async def send(messenger: Callable[[str], Messenger], results: Results) -> None:
            sent = await messenger(chat.platform).send_poll(chat, question, tuple(options),
                                                            multiple)
            results.posted.append(_row(record, chat, sent.message_id, sent.platform_poll_id))
        self._sends.append(send)

    def close_poll(self, poll: SentPoll) -> None:
        async def send(messenger: Callable[[str], Messenger], results: Results) -> None:
            await messenger(poll.chat.platform).close_poll(poll)
        self._sends.append(send)

    def file(self, chat: ChatRef, file: OutFile, caption: str = "") -> None:
        async def send(messenger: Callable[[str], Messenger], results: Results) -> None:
            await messenger(chat.platform).send_file(chat, file, caption)
        self._sends.append(send)

    def dm(self, targets: Sequence[UserRef], text: str, file: OutFile | None,
           on_failure: tuple[int, int, int | None]) -> None:
        """DM the first of the person's accounts that accepts; (person, chapter, meetup)
        say where to name them when none does."""
        async def send(messenger: Callable[[str], Messenger], results: Results) -> None:
            failure = await dm_first_accepting(messenger, targets, text, file)
            if failure is not None:
                results.failures.append(DmFailure(*on_failure, failure))
        self._sends.append(send)

    async def flush(self, messenger: Callable[[str], Messenger]) -> Results:
        """Send everything in order; one failed send is logged and does not stop the rest."""
        results = Results()
        sends = self._replies + self._sends
        self._replies, self._sends = [], []
        for send in sends:
            try:
                await send(messenger, results)
            except Exception:
                log.exception("a message could not be sent")
        return results


async def dm_first_accepting(messenger: Callable[[str], Messenger], targets: Sequence[UserRef],
                             text: str, file: OutFile | None) -> CannotDM | None:
    """DM the first of a person's accounts that accepts; None when one did, else the last
    refusal."""
    failure: CannotDM | None = None
    for user in targets:
        try:
            await messenger(user.platform).send_dm(user, text, file)
            return None
        except CannotDM as exc:
            failure = exc
    return failure


def _row(record: Posted, chat: ChatRef, message_id: str,
         platform_poll_id: str | None) -> dict[str, object]:
    return {"chapter_id": record.chapter_id, "kind": record.kind, "meetup_id": record.meetup_id,
            "poll_id": record.poll_id, "platform": chat.platform, "chat_id": chat.id,
            "message_id": message_id, "platform_poll_id": platform_poll_id}

