"""The console chat's side of the outbound port: lines on a terminal, files in a folder.

The demo plays two pretend platforms: the group ("console", Telegram-like) and a room
("console-room", Matrix-like) that can be linked to the same chapter. Each bot line says
where it went: `[group]`, `[dm bob]`, `[room]`, `[room dm bob]`."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.core.messages import Button, ChatRef, OutFile, SentMessage, SentPoll, UserRef
from bot.core.ports import CannotDM

PLATFORM = "console"
GROUP = ChatRef(PLATFORM, "group")
ROOM_PLATFORM = "console-room"
ROOM = ChatRef(ROOM_PLATFORM, "room")

# A code the bot shows (/link CODE, /whoami CODE): the demo lets `$CODE` stand for the last.
_CODE = re.compile(r"^/(?:link|whoami) ([A-Z0-9]{6,32})$")


def dm_chat(name: str, platform: str = PLATFORM) -> ChatRef:
    return ChatRef(platform, f"dm:{name}")


class ConsoleMessenger:
    def __init__(self, write: Callable[[str], None], files_dir: Path,
                 chat: ChatRef = GROUP, codes: list[str] | None = None) -> None:
        self.write = write
        self.files_dir = files_dir
        self.chat = chat  # the one group chat (or room) on this pretend platform
        self.platform = chat.platform
        self.codes = codes if codes is not None else []  # codes shown, oldest first
        self.started: set[str] = set()  # people who opened a DM with the bot
        self._ids = itertools.count(1)
        self.edits: dict[str, str] = {}

    def _label(self, chat: ChatRef) -> str:
        if chat.id == self.chat.id:
            return f"[{self.chat.id}]"
        side = "" if self.chat == GROUP else f"{self.chat.id} "
        return f"[{side}dm {chat.id.removeprefix('dm:')}]"

    def _print(self, chat: ChatRef, text: str) -> str:
        lines = text.splitlines() or [""]
        self.codes.extend(m.group(1) for m in map(_CODE.match, lines) if m)
        self.write(f"{self._label(chat)} irl: {lines[0]}")
        for line in lines[1:]:
            self.write(f"    {line}")
        return str(next(self._ids))

    async def send_text(self, chat: ChatRef, text: str, buttons: Sequence[Button] = (),
                        *, key: str | None = None) -> SentMessage:
        if buttons:
            text += "\n" + " ".join(f"[{b.label}]" for b in buttons)
        return SentMessage(chat, self._print(chat, text))

    async def edit_text(self, chat: ChatRef, message_id: str, text: str,
                        buttons: Sequence[Button] = (), *, key: str | None = None) -> None:
        self.edits[message_id] = text  # the console does not reprint edited messages

    async def send_poll(self, chat: ChatRef, question: str, options: Sequence[str],
                        multiple: bool, *, key: str | None = None) -> SentPoll:
        how = "/vote 1 2" if multiple else "/vote 1"
        body = "\n".join([f"📊 {question}", *(f"{i}. {o}" for i, o in enumerate(options, 1)),
                          f"({how})"])
        message_id = self._print(chat, body)
        return SentPoll(chat, message_id, f"console-poll-{message_id}")

    async def close_poll(self, poll: SentPoll, *, key: str | None = None) -> None:
        return None  # the core announces the result itself

    async def send_file(self, chat: ChatRef, file: OutFile, caption: str = "",
                        *, key: str | None = None) -> SentMessage:
        path = self._save(file)
        return SentMessage(chat, self._print(chat, f"📎 {path}" + (f" — {caption}" if caption else "")))

    async def send_dm(self, user: UserRef, text: str, file: OutFile | None = None,
                      *, key: str | None = None, buttons: Sequence[Button] = ()) -> SentMessage:
        if user.id not in self.started:
            raise CannotDM(user, self.start_hint(user))
        chat = dm_chat(user.id, self.platform)
        if buttons:
            text += "\n" + " ".join(f"[{b.label}]" for b in buttons)
        sent = self._print(chat, text)
        if file is not None:
            self._print(chat, f"📎 {self._save(file)}")
        return SentMessage(chat, sent)

    def start_hint(self, user: UserRef) -> str:
        where = "dm" if self.chat == GROUP else f"{self.chat.id} dm"
        return f"Open a private chat with me and send /start (here: `{user.id} ({where}): /start`)."

    def _save(self, file: OutFile) -> Path:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        stem, dot, ext = file.filename.rpartition(".")
        path = self.files_dir / file.filename
        n = 1
        while path.exists():
            n += 1
            path = self.files_dir / (f"{stem}-{n}.{ext}" if dot else f"{file.filename}-{n}")
        path.write_bytes(file.content)
        return path
