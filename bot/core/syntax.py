"""Reading a message as a command: its name and its `;`-separated arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMAND = re.compile(r"^[/!]([A-Za-z_]+)(?:@\S+)?(?:\s+(.*))?$", re.S)

MAX_COMMAND_TEXT = 20_000  # Matrix events can be long; validators give the clearer reply


@dataclass(frozen=True)
class Command:
    name: str
    args: str


def parse_command(text: str) -> Command | None:
    """'/newmeetup@irlbot Tweetup; do 19:30' -> Command('newmeetup', 'Tweetup; do 19:30')."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    return Command(match.group(1).lower(), (match.group(2) or "").strip())


def split_args(args: str) -> list[str]:
    return [part.strip() for part in args.split(";")]
