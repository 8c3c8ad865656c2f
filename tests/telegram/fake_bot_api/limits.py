"""Flood control of the fake Bot API.

Telegram documents its limits loosely (bots FAQ, "My bot is hitting limits"): about 30
messages a second overall, no more than one a second in one chat ("we may allow short
bursts"), and no more than 20 a minute in one group. The fake turns that into sliding
windows, each "at most N message requests in any T seconds":

* bot-wide: 30 in any 1 s;
* per chat (private or group): 3 in any 3 s, i.e. one a second with a burst of three;
* per group (chat id < 0): 20 in any 60 s.

A request that breaks a window gets 429 with `retry_after` = whole seconds until the window
has room again (at least 1). From then on, until `retry_after` has passed, the window's
scope (the chat, or the whole bot for the bot-wide limit) is closed: any request in it is
answered 429 again and is recorded as a *violation*, which is what tests assert never
happens. Requests that were refused do not count towards the windows.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace

# Methods that post or change a message in a chat: the ones the limits count.
MESSAGE_METHODS = frozenset(
    m.lower()
    for m in (
        "sendMessage",
        "sendPoll",
        "sendDocument",
        "sendPhoto",
        "forwardMessage",
        "copyMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
        "stopPoll",
    )
)


@dataclass(frozen=True)
class Window:
    count: int
    period: float


@dataclass(frozen=True)
class FakeLimits:
    overall: Window | None = Window(30, 1.0)
    per_chat: Window | None = Window(3, 3.0)
    per_group: Window | None = Window(20, 60.0)

    @classmethod
    def off(cls) -> FakeLimits:
        return cls(None, None, None)

    def scaled(self, factor: float) -> FakeLimits:
        """The same counts over periods `factor` times as long (tests use e.g. 0.1)."""

        def s(w: Window | None) -> Window | None:
            return None if w is None else Window(w.count, w.period * factor)

        return replace(self, overall=s(self.overall), per_chat=s(self.per_chat), per_group=s(self.per_group))


@dataclass(frozen=True)
class RetryWindow:
    """A `retry_after` the fake handed out: no request in `scope` may arrive before `end`."""

    scope: int | None  # chat id, or None for the bot-wide limit
    start: float
    end: float
    retry_after: int
    reason: str

    def covers(self, chat_id: int, t: float) -> bool:
        return self.start < t < self.end and (self.scope is None or self.scope == chat_id)


@dataclass(frozen=True)
class Verdict:
    retry_after: int
    window: RetryWindow
    violation: bool  # the request came in while a retry_after was still running


@dataclass
class FloodControl:
    limits: FakeLimits
    windows: list[RetryWindow] = field(default_factory=list)
    _stamps: dict[object, deque[float]] = field(default_factory=dict)

    def active(self, chat_id: int, now: float) -> Verdict | None:
        """The 429 for a request that came in while a retry_after it falls under still runs."""
        for w in reversed(self.windows):
            if w.covers(chat_id, now):
                return Verdict(max(1, math.ceil(w.end - now)), w, violation=True)
        return None

    def admit(self, chat_id: int, now: float) -> Verdict | None:
        """None if the request may go (and it is counted), else the 429 that opens a window."""
        rules: list[tuple[object, Window, int | None, str]] = []
        if self.limits.overall:
            rules.append(("all", self.limits.overall, None, "bot-wide"))
        if self.limits.per_chat:
            rules.append((("chat", chat_id), self.limits.per_chat, chat_id, "per chat"))
        if self.limits.per_group and chat_id < 0:
            rules.append((("group", chat_id), self.limits.per_group, chat_id, "per group"))
        for key, rule, scope, reason in rules:
            stamps = self._trimmed(key, rule, now)
            if len(stamps) >= rule.count:
                wait = max(1, math.ceil(stamps[0] + rule.period - now))
                window = RetryWindow(scope, now, now + wait, wait, reason)
                self.windows.append(window)
                return Verdict(wait, window, violation=False)
        for key, _rule, _, _ in rules:
            self._stamps.setdefault(key, deque()).append(now)
        return None

    def _trimmed(self, key: object, rule: Window, now: float) -> deque[float]:
        stamps = self._stamps.setdefault(key, deque())
        while stamps and stamps[0] <= now - rule.period:
            stamps.popleft()
        return stamps
