"""Matrix adapter: chapters in Matrix rooms, through matrix-nio.

Commands with `!` (and `/`), MSC3381 polls, RSVP by reaction, direct rooms for reminders.
See docs/matrix.md.
"""

from bot.adapters.matrix.adapter import MatrixAdapter
from bot.adapters.matrix.inbound import CoreSink
from bot.adapters.matrix.messenger import MatrixMessenger
from bot.adapters.matrix.settings import MatrixSettings
from bot.adapters.matrix.state import DbStateStore, MemoryStateStore, StateStore

__all__ = [
    "CoreSink",
    "DbStateStore",
    "MatrixAdapter",
    "MatrixMessenger",
    "MatrixSettings",
    "MemoryStateStore",
    "StateStore",
]
