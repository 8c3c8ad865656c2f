"""Small steps the Matrix tests share."""

from __future__ import annotations

from typing import Any

from tests.matrix.mx_members import Event, Member


def is_member_join(user_id: str) -> Any:
    def match(_room: str, e: Event) -> bool:
        return (e.get("type") == "m.room.member" and e.get("state_key") == user_id
                and e["content"].get("membership") == "join")
    return match


def is_text_from(sender: str, room_id: str | None = None, contains: str = "") -> Any:
    def match(room: str, e: Event) -> bool:
        return (e.get("type") == "m.room.message" and e.get("sender") == sender
                and (room_id is None or room == room_id)
                and contains in e["content"].get("body", ""))
    return match


async def room_with_bot(owner: Member, bot_id: str, *others: Member, **kwargs: Any) -> str:
    """`owner` creates a room, invites the bot and `others`; returns once all have joined."""
    room_id = await owner.create_room([bot_id, *(m.user_id for m in others)], **kwargs)
    for other in others:
        await other.join(room_id)
    await owner.wait_for(lambda r, e: r == room_id and is_member_join(bot_id)(r, e))
    return room_id
