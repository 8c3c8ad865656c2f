"""`irlbot demo`: one chapter's group chat played in the terminal on a virtual clock.

Input lines:
    alice: TEXT          alice speaks in the group
    alice (dm): TEXT     alice writes to the bot in private
    :advance 25h         moves the clock; everything due in between fires, in order
    :now  :admin NAME  :quit
"""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.adapters.console.messenger import GROUP, PLATFORM, ConsoleMessenger, dm_chat
from bot.clock import VirtualClock, advance
from bot.core.app import Core
from bot.core.dates import parse_duration
from bot.core.messages import Inbound, UserRef

_LINE = re.compile(r"^(?P<who>[A-Za-z0-9_.-]{1,32})(?P<dm>\s*\(dm\))?\s*:\s?(?P<text>.*)$")

USAGE = ("Lines: `alice: /newmeetup …` (group), `alice (dm): /start` (private), "
         "`:advance 25h`, `:now`, `:admin NAME`, `:quit`.")


class ConsoleChat:
    def __init__(self, core: Core, messenger: ConsoleMessenger, clock: VirtualClock,
                 write: Callable[[str], None], timezone: str) -> None:
        self.core = core
        self.messenger = messenger
        self.clock = clock
        self.write = write
        self.timezone = timezone
        self.admins: set[str] = set()

    async def feed(self, line: str) -> bool:
        """Handle one input line; False means the session should end."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line.startswith(":"):
            return await self._meta(line[1:].strip())
        match = _LINE.match(line)
        if match is None:
            self.write(f"?? {USAGE}")
            return True
        who, text = match.group("who"), match.group("text")
        if not self.admins:
            self.admins.add(who)  # the first person to speak is the group's admin
        private = bool(match.group("dm"))
        if private:
            self.messenger.started.add(who)
        await self.core.handle_message(Inbound(
            chat=dm_chat(who) if private else GROUP,
            sender=UserRef(PLATFORM, who, who),
            text=text,
            is_private=private,
            sender_is_admin=(who in self.admins) and not private,
        ))
        return True

    async def _meta(self, command: str) -> bool:
        word, _, rest = command.partition(" ")
        if word == "quit":
            return False
        if word == "now":
            self.write(f"-- now: {self._show(self.clock.now())}")
        elif word == "admin" and rest.strip():
            self.admins.add(rest.strip())
            self.write(f"-- {rest.strip()} is now an admin of the group")
        elif word == "advance":
            try:
                delta = parse_duration(rest)
            except ValueError:
                self.write("?? write it like :advance 25h or :advance 2d3h30m")
                return True
            await advance(self.core, self.clock, delta)
            self.write(f"-- now: {self._show(self.clock.now())}")
        else:
            self.write(f"?? {USAGE}")
        return True

    def _show(self, moment) -> str:
        return moment.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M %Z")
