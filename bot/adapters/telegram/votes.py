"""Poll answers to one poll, handed to the core together.

A popular poll gets thousands of answers in a minute; one unit of work each (a commit and
about ten statements) tops out near a hundred a second. So the adapter passes poll answers
here straight from the inbox, not through python-telegram-bot's handlers (whose task and
context per update cost about as much CPU as recording the vote). Answers to the same poll
that arrive while a batch is being recorded wait for the next batch, and the core records a
whole batch in one unit of work (`Core.handle_poll_answers`). One batch per poll at a time,
in update_id order, keeps a voter's later answer after their earlier one; answers to
different polls are recorded side by side.

`handled(update_id)` is called for each answer only once its batch is committed. When a
batch fails, its answers are tried one by one, so one bad answer can't hold up the others;
one that still fails goes to `failed` (the adapter counts its tries, queues it again after a
pause, and skips it after a bounded number of tries).
`stop()` finishes the batches in hand and leaves the answers still waiting in the inbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.core.messages import PollAnswer

log = logging.getLogger(__name__)

Handle = Callable[[Sequence[PollAnswer]], Awaitable[None]]
Failed = Callable[[int, PollAnswer, Exception], Awaitable[None]]


class PollAnswerBatches:
    def __init__(self, handle: Handle, handled: Callable[[int], None],
                 failed: Failed | None = None, max_batch: int = 1000) -> None:
        self._handle = handle
        self._handled = handled
        self._failed = failed
        self.max_batch = max_batch
        self._queues: dict[str, list[tuple[int, PollAnswer]]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._stopping = False

    def add(self, update_id: int, answer: PollAnswer) -> None:
        """Queue an answer behind those to the same poll (callers add in update_id order)."""
        if self._stopping:
            return  # stays in the inbox for the next start
        key = answer.platform_poll_id
        queue = self._queues.get(key)
        if queue is None:
            self._queues[key] = queue = []
            worker = asyncio.create_task(self._work(key, queue), name=f"poll answers {key}")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        queue.append((update_id, answer))

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def idle(self) -> None:
        """Wait until every answer added so far is recorded (or has failed)."""
        while self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)

    async def stop(self) -> None:
        """Finish the batches in hand; answers not yet taken stay in the inbox."""
        self._stopping = True
        await self.idle()

    def restart(self) -> None:
        self._stopping = False

    async def _work(self, key: str, queue: list[tuple[int, PollAnswer]]) -> None:
        try:
            await asyncio.sleep(0)  # let the rest of the intake's batch join the first one
            while queue and not self._stopping:
                batch = queue[: self.max_batch]
                del queue[: self.max_batch]
                await self._run(batch)
        finally:
            del self._queues[key]

    async def _run(self, batch: list[tuple[int, PollAnswer]]) -> None:
        try:
            await self._handle([answer for _uid, answer in batch])
        except Exception as exc:
            if len(batch) == 1:
                if self._failed is not None:
                    await self._failed(batch[0][0], batch[0][1], exc)
                else:
                    log.exception("poll answer in update %s could not be recorded; it stays "
                                  "in the inbox", batch[0][0])
                return
            log.warning("a batch of %d poll answers failed (%r); trying them one by one",
                        len(batch), exc)
            for one in batch:
                await self._run([one])
            return
        for update_id, _answer in batch:
            self._handled(update_id)
