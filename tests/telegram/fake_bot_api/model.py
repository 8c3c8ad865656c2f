"""The fake's world: users, chats, the bot's messages, polls, and the records tests read.

Objects render themselves as Bot API JSON (`to_api`) with the fields the Bot API documents
and python-telegram-bot requires.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass
class FakeUser:
    id: int
    first_name: str
    last_name: str = ""
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = "nl"
    started: bool = False  # has pressed Start in a private chat with the bot
    blocked: bool = False  # has blocked the bot

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def to_api(self) -> JSON:
        out: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            out["last_name"] = self.last_name
        if self.username:
            out["username"] = self.username
        if self.language_code and not self.is_bot:
            out["language_code"] = self.language_code
        return out


@dataclass
class FakeChat:
    id: int
    type: str  # "private", "group", "supergroup"
    title: str = ""
    user: FakeUser | None = None  # the other side of a private chat
    # user id -> status: creator, administrator, member, restricted, left or kicked
    members: dict[int, str] = field(default_factory=dict)
    restricted_outside: set[int] = field(default_factory=set)  # restricted, not in the chat
    migrated_to: int | None = None

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def status(self, user_id: int) -> str:
        return self.members.get(user_id, "left")

    def is_admin(self, user_id: int) -> bool:
        return self.status(user_id) in ("creator", "administrator")

    def to_api(self) -> JSON:
        if self.type == "private" and self.user is not None:
            out: JSON = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.last_name:
                out["last_name"] = self.user.last_name
            if self.user.username:
                out["username"] = self.user.username
            return out
        return {"id": self.id, "type": self.type, "title": self.title}


def member_json(user: FakeUser, status: str, is_member: bool = True) -> JSON:
    """A ChatMember object as getChatMember / getChatAdministrators return it. A restricted
    user may be in the chat or not (`is_member`)."""
    out: JSON = {"status": status, "user": user.to_api()}
    if status == "creator":
        out["is_anonymous"] = False
    elif status == "administrator":
        out.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
            can_pin_messages=True,
        )
    elif status == "kicked":
        out["until_date"] = 0
    elif status == "restricted":
        out.update(
            is_member=is_member,
            can_send_messages=False,
            can_send_audios=False,
            can_send_documents=False,
            can_send_photos=False,
            can_send_videos=False,
            can_send_video_notes=False,
            can_send_voice_notes=False,
            can_send_polls=False,
            can_send_other_messages=False,
            can_add_web_page_previews=False,
            can_change_info=False,
            can_invite_users=False,
            can_pin_messages=False,
            can_manage_topics=False,
            can_edit_tag=False,
            can_react_to_messages=False,
            until_date=0,
        )
    return out


@dataclass
class Document:
    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    content: bytes

    def to_api(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": len(self.content),
        }


@dataclass
class FakePoll:
    id: str
    chat_id: int
    message_id: int
    question: str
    options: list[str]
    is_anonymous: bool
    allows_multiple_answers: bool
    is_closed: bool = False
    votes: dict[int, tuple[int, ...]] = field(default_factory=dict)  # user id -> option ids

    def counts(self) -> list[int]:
        counts = [0] * len(self.options)
        for chosen in self.votes.values():
            for i in chosen:
                counts[i] += 1
        return counts

    def to_api(self) -> JSON:
        return {
            "id": self.id,
            "question": self.question,
            "options": [
                {"text": text, "voter_count": n, "persistent_id": f"{self.id}-{i}"}
                for i, (text, n) in enumerate(zip(self.options, self.counts(), strict=True))
            ],
            "total_voter_count": sum(1 for v in self.votes.values() if v),
            "is_closed": self.is_closed,
            "is_anonymous": self.is_anonymous,
            "type": "regular",
            "allows_multiple_answers": self.allows_multiple_answers,
            "allows_revoting": True,
            "members_only": False,
        }


Keyboard = list[list[JSON]]


@dataclass
class BotMessage:
    """A message the bot posted, as the transcript keeps it (its current state + history)."""

    chat_id: int
    message_id: int
    kind: str  # "text", "poll", "document"
    text: str = ""
    keyboard: Keyboard | None = None
    poll: FakePoll | None = None
    document: Document | None = None
    date: int = field(default_factory=lambda: int(time.time()))
    sent_at: float = 0.0
    edits: list[tuple[float, str]] = field(default_factory=list)  # (when, new text)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        return [(b.get("text", ""), b.get("callback_data", "")) for row in self.keyboard or [] for b in row]


@dataclass(frozen=True)
class CallbackAnswer:
    query_id: str
    text: str
    show_alert: bool
    at: float


@dataclass
class RequestRecord:
    at: float
    method: str  # as the client spelled it, e.g. "sendMessage"
    params: dict[str, Any]
    chat_id: int | None = None
    status: int = 0
    description: str = ""
    violation: bool = False  # arrived inside a retry_after the fake had handed out
