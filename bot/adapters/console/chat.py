"""`irlbot demo`: one chapter's chats played in the terminal on a virtual clock.

Two pretend platforms: the group (Telegram-like) and a room (Matrix-like), which an organiser
can link to the chapter with the real /link flow. The bot's lines start with where they went:
`[group]`, `[dm alice]`, `[room]`, `[room dm alice]`.

Input lines:
    alice: TEXT            alice speaks in the group
    alice (dm): TEXT       alice writes to the bot in private (from her group account)
    alice (room): TEXT     alice speaks in the room (another account: another platform)
    alice (room dm): TEXT  alice writes to the bot in private from her room account
    $CODE in TEXT          the last code the bot showed (/link CODE, /whoami CODE)
    :advance 25h           moves the clock; everything due in between fires, in order
    :now  :admin NAME  :admin NAME room  :quit
The first to speak in the group, and the first in the room, is its admin.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.adapters.console.messenger import ConsoleMessenger, dm_chat
from bot.clock import VirtualClock, advance
from bot.core.app import Core
from bot.core.dates import parse_duration
from bot.core.messages import Inbound, UserRef

_LINE = re.compile(r"^(?P<who>[A-Za-z0-9_.-]{1,32})\s*(?:\((?P<where>dm|room|room dm)\))?"
                   r"\s*:\s?(?P<text>.*)$")

USAGE = ("Lines: `alice: /newmeetup …` (group), `alice (dm): /start` (private), "
         "`alice (room): …` and `alice (room dm): …` (the room, another platform), "
         "`$CODE` (the last code shown), `:advance 25h`, `:now`, `:admin NAME [room]`, `:quit`.")


class ConsoleChat:
    def __init__(self, core: Core, messenger: ConsoleMessenger, clock: VirtualClock,
                 write: Callable[[str], None], timezone: str,
                 room: ConsoleMessenger | None = None) -> None:
        self.core = core
        self.messenger = messenger
        self.room = room
        self.clock = clock
        self.write = write
        self.timezone = timezone
        self.admins: dict[str, set[str]] = {"group": set(), "room": set()}

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
        who, where, text = match.group("who"), match.group("where") or "", match.group("text")
        side = "room" if where.startswith("room") else "group"
        messenger = self.room if side == "room" else self.messenger
        if messenger is None:
            self.write(f"?? {USAGE}")
            return True
        if "$CODE" in text:
            if not messenger.codes:
                self.write("?? no code has been shown yet ($CODE is the last one)")
                return True
            text = text.replace("$CODE", messenger.codes[-1])
        admins = self.admins[side]
        if not admins:
            admins.add(who)  # the first person to speak in a chat is its admin
        private = where.endswith("dm")
        if private:
            messenger.started.add(who)
        await self.core.handle_message(Inbound(
            chat=dm_chat(who, messenger.platform) if private else messenger.chat,
            sender=UserRef(messenger.platform, who, who),
            text=text,
            is_private=private,
            sender_is_admin=(who in admins) and not private,
        ))
        return True

    async def _meta(self, command: str) -> bool:
        word, _, rest = command.partition(" ")
        if word == "quit":
            return False
        if word == "now":
            self.write(f"-- now: {self._show(self.clock.now())}")
        elif word == "admin" and rest.split() and rest.split()[1:] in ([], ["room"]):
            name, *room = rest.split()
            side = "room" if room else "group"
            self.admins[side].add(name)
            self.write(f"-- {name} is now an admin of the {side}")
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
