"""Matrix adapter: chapters in Matrix rooms, through matrix-nio.

Commands with `!` (and `/`), MSC3381 polls, RSVP by reaction, direct rooms for reminders.
See docs/matrix.md.

The names below load on first use, so `bot.config` can import the settings module without
loading matrix-nio (`irlbot migrate` stays light).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from bot.adapters.matrix.settings import MatrixSettings

if TYPE_CHECKING:
    from bot.adapters.matrix.adapter import MatrixAdapter
    from bot.adapters.matrix.inbound import CoreSink
    from bot.adapters.matrix.messenger import MatrixMessenger
    from bot.adapters.matrix.state import DbStateStore, MemoryStateStore, StateStore

_LAZY = {
    "MatrixAdapter": "adapter",
    "CoreSink": "inbound",
    "MatrixMessenger": "messenger",
    "DbStateStore": "state",
    "MemoryStateStore": "state",
    "StateStore": "state",
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)


__all__ = [
    "CoreSink",
    "DbStateStore",
    "MatrixAdapter",
    "MatrixMessenger",
    "MatrixSettings",
    "MemoryStateStore",
    "StateStore",
]
