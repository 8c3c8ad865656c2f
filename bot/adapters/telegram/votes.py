"""Poll answers to one poll, handed to the core together.

A popular poll gets thousands of answers in a minute; one unit of work each (a commit and
about ten statements) tops out near a hundred a second. Answers to the same poll that arrive
while a batch is being recorded wait for the next batch, and the core records a whole batch
in one unit of work (`Core.handle_poll_answers`). One batch per poll at a time, in update_id
order, keeps a voter's later answer after their earlier one; answers to other polls run side
by side.

Each answer's caller waits until its batch is committed, so the adapter marks the update
handled only then; when a batch fails, its answers are tried one by one, so one bad answer
can't fail the others (one that still fails raises to its caller: the update stays
unhandled in the inbox).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.core.messages import PollAnswer

log = logging.getLogger(__name__)

Handle = Callable[[Sequence[PollAnswer]], Awaitable[None]]


@dataclass
class _Waiting:
    update_id: int
    answer: PollAnswer
    done: asyncio.Future[None]


class PollAnswerBatches:
    def __init__(self, handle: Handle, max_batch: int = 1000) -> None:
        self._handle = handle
        self.max_batch = max_batch
        self._queues: dict[str, list[_Waiting]] = {}
        self._workers: set[asyncio.Task[None]] = set()

    async def submit(self, update_id: int, answer: PollAnswer) -> None:
        """Returns once the answer's batch is committed; raises if it could not be."""
        waiting = _Waiting(update_id, answer, asyncio.get_running_loop().create_future())
        key = answer.platform_poll_id
        queue = self._queues.get(key)
        if queue is None:
            self._queues[key] = queue = []
            worker = asyncio.create_task(self._work(key, queue), name=f"poll answers {key}")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        queue.append(waiting)
        await waiting.done

    async def _work(self, key: str, queue: list[_Waiting]) -> None:
        try:
            while queue:
                batch = sorted(queue[: self.max_batch], key=lambda w: w.update_id)
                del queue[: self.max_batch]
                await self._run(batch)
        finally:
            del self._queues[key]
            for waiting in queue:  # only when cancelled
                waiting.done.cancel()

    async def _run(self, batch: list[_Waiting]) -> None:
        try:
            await self._handle([w.answer for w in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            log.warning("a batch of %d poll answers failed (%r); trying them one by one",
                        len(batch), exc)
            for waiting in batch:
                await self._run([waiting])
            return
        except BaseException:
            for waiting in batch:
                waiting.done.cancel()
            raise
        for waiting in batch:
            _settle(waiting, None)


def _settle(waiting: _Waiting, exc: BaseException | None) -> None:
    if waiting.done.done():
        return
    if exc is None:
        waiting.done.set_result(None)
    else:
        waiting.done.set_exception(exc)
