"""Whether this copy of the bot can serve, and why not: one object the parts report to and a
web server's `/readyz` (a later issue) reads.

Parts: `database` (does it answer?) and one per platform (`telegram`, `matrix`: is this copy
reading it, or waiting while another copy does?). The leadership, the scheduler and the
composition root report; only a change is logged, once, so an outage of an hour is two lines
(gone, back), not one per try.

Ready means: the database answers and no platform is down. A copy waiting for the lead while
another copy reads the account ("standby") is ready: it is healthy and takes over when needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

log = logging.getLogger("irlbot.readiness")

DATABASE = "database"


@dataclass(frozen=True)
class State:
    ok: bool
    reason: str  # "" when ok and nothing more to say
    since: float  # the monotonic clock's time of the change


class Readiness:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._parts: dict[str, State] = {}

    # --- reporting -------------------------------------------------------------------------

    def database_ok(self) -> None:
        self._set(DATABASE, True, "")

    def database_down(self, reason: BaseException | str) -> None:
        self._set(DATABASE, False, describe(reason))

    def reading(self, platform: str) -> None:
        """This copy reads the platform's account (it leads it, or needs no lead)."""
        self._set(platform, True, "reading")

    def standby(self, platform: str, reason: str) -> None:
        """Another copy reads the account; this one takes over when that copy goes."""
        self._set(platform, True, reason)

    def not_reading(self, platform: str, reason: str) -> None:
        """Nobody here reads the account, and this copy can't tell whether another does."""
        self._set(platform, False, reason)

    # --- reading ---------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return all(state.ok for state in self._parts.values()) and DATABASE in self._parts

    def state(self, part: str) -> State | None:
        return self._parts.get(part)

    def reasons(self) -> list[str]:
        """Why not ready, one line per part that is not ok."""
        if DATABASE not in self._parts:
            return ["database: not checked yet"]
        return [f"{part}: {state.reason}" for part, state in self._parts.items() if not state.ok]

    def snapshot(self) -> dict[str, object]:
        """What `/readyz` shows: ready or not, and each part with its reason and age."""
        now = self._clock()
        return {"ready": self.ready,
                "parts": {part: {"ok": s.ok, "reason": s.reason, "for_s": round(now - s.since)}
                          for part, s in self._parts.items()}}

    # --- the one place that logs a change ----------------------------------------------------

    def _set(self, part: str, ok: bool, reason: str) -> None:
        old = self._parts.get(part)
        if old is not None and old.ok == ok and (old.reason == reason or part == DATABASE):
            return  # no change (a database still down keeps the first reason: tries vary)
        now = self._clock()
        self._parts[part] = State(ok, reason, now)
        lasted = f" after {now - old.since:.0f} s" if old is not None and old.ok != ok else ""
        if part == DATABASE:
            if not ok:
                log.warning("database unreachable (%s): waiting for it, trying again with "
                            "growing pauses; what members do meanwhile is retried", reason)
            elif old is not None:
                log.info("database reachable again%s", lasted)
        elif ok:
            log.info("%s: %s%s", part, reason, lasted)
        else:
            log.warning("%s: %s", part, reason)


def describe(reason: BaseException | str) -> str:
    """A short one-line reason: the driver's error, not SQLAlchemy's SQL and links."""
    if isinstance(reason, str):
        return reason
    exc: BaseException = reason
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text[:200]}" if text else name
