"""How many commands a member may send in a chat: at most `per_minute` in any minute. Past
that the bot ignores them, and says so once, until the minute has room again.

Kept in memory, per process: cheap (no database write per command), bounded in size (the
members least recently heard from are forgotten first), and forgotten at a restart. With
several copies each counts what it handles (docs/decisions.md).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

WINDOW = timedelta(minutes=1)
TRACKED = 10_000  # members (per chat) remembered at most


class Verdict(Enum):
    ANSWER = "answer"
    SAY_SO = "say so"  # the first one past the limit: tell the member, once
    IGNORE = "ignore"


@dataclass
class _Member:
    times: deque[datetime] = field(default_factory=deque)
    told: bool = False


class CommandLimit:
    def __init__(self, per_minute: int, window: timedelta = WINDOW,
                 tracked: int = TRACKED) -> None:
        self.per_minute = per_minute
        self.window = window
        self.tracked = tracked
        self._members: OrderedDict[tuple[str, str, str], _Member] = OrderedDict()

    def __len__(self) -> int:
        return len(self._members)

    def check(self, platform: str, chat_id: str, member_id: str, now: datetime) -> Verdict:
        """Count a command of `member_id` in the chat; what to do with it."""
        if self.per_minute <= 0:
            return Verdict.ANSWER
        key = (platform, chat_id, member_id)
        member = self._members.pop(key, None) or _Member()
        self._members[key] = member  # the most recently heard from last
        while len(self._members) > self.tracked:
            self._members.popitem(last=False)
        while member.times and member.times[0] <= now - self.window:
            member.times.popleft()
        if len(member.times) < self.per_minute:
            member.times.append(now)
            member.told = False
            return Verdict.ANSWER
        if member.told:
            return Verdict.IGNORE
        member.told = True
        return Verdict.SAY_SO
