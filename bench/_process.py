"""The bot's side of a benchmark in a process of its own.

In production Telegram is not in the bot's process. A benchmark that runs the fake Bot API
and the bot in one event loop charges the fake's work (parsing every multipart upload,
building every getUpdates answer, checking the limits) to the bot, and any stall of either
delays the other. So the fake stays in the script's process and the bot's side runs in a
child: the same script, started with `--bot-process '<JSON>'`, which prints `ready` when it
is set up and its result as one JSON line at the end.

`time.monotonic()` is the system's monotonic clock, so stamps of the two processes compare.

Imports nothing of the bot, so a script can use it against any tree of the project."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

JSON = dict[str, Any]
FLAG = "--bot-process"


async def run_bot_process(script: str | Path, payload: JSON,
                          on_ready: Callable[[], Awaitable[None]] | None = None) -> JSON:
    """Runs `script --bot-process payload` and returns the JSON it prints last. `on_ready`
    runs once the child says it is ready (while the child goes on); stderr passes through."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(script), FLAG, json.dumps(payload),
        stdout=asyncio.subprocess.PIPE, limit=1 << 26)  # the result is one long line
    assert child.stdout is not None
    result: JSON | None = None
    driver: asyncio.Task[None] | None = None
    try:
        async for raw in child.stdout:
            line = raw.decode().strip()
            if line == "ready":
                if on_ready is not None:
                    driver = asyncio.create_task(on_ready())
            elif line.startswith("{"):
                result = json.loads(line)
            elif line:
                print(line)
        await child.wait()
        if driver is not None:
            await driver
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    if child.returncode != 0 or result is None:
        raise RuntimeError(f"the bot's process exited with {child.returncode} and no result")
    return result


def bot_process_main(side: Callable[[JSON, Callable[[], None]], Awaitable[JSON]]) -> bool:
    """In a script's `main()`: when started as the bot's process, runs `side(payload,
    ready)`, prints its result and returns True; otherwise returns False at once."""
    if len(sys.argv) != 3 or sys.argv[1] != FLAG:
        return False
    payload = json.loads(sys.argv[2])

    def ready() -> None:
        print("ready", flush=True)

    result = asyncio.run(side(payload, ready))
    print(json.dumps(result), flush=True)
    return True
