"""Telegram objects to the core's neutral values (no I/O here)."""

from __future__ import annotations

import re

from telegram import Chat, Message, Update, User
from telegram import PollAnswer as TgPollAnswer

from bot.core.messages import ChatRef, PollAnswer, UserRef

PLATFORM = "telegram"
# Telegram's "GroupAnonymousBot": the sender of messages an anonymous group admin posts.
ANONYMOUS_ADMIN_ID = 1087968824

_ADDRESSED = re.compile(r"^(/[A-Za-z0-9_]+)@([A-Za-z0-9_]+)")


def chat_ref(chat_id: int) -> ChatRef:
    return ChatRef(PLATFORM, str(chat_id))


def user_ref(user: User) -> UserRef:
    return UserRef(PLATFORM, str(user.id), user.full_name)


def chat_as_user(chat: Chat) -> UserRef:
    return UserRef(PLATFORM, str(chat.id), chat.effective_name or "")


def command_text(text: str, bot_username: str) -> str | None:
    """`text` with "@<this bot>" taken off its command word; None if the command is
    addressed to another bot ("/help@otherbot")."""
    match = _ADDRESSED.match(text)
    if match is None:
        return text
    if match.group(2).lower() != bot_username.lower():
        return None
    return match.group(1) + text[match.end() :]


def worth_storing(update: Update) -> bool:
    """False for a group message that can't be a command or a wall post (chatter the bot
    sees as a group admin, or with privacy mode off: no "/" in front, no "#"): it is
    confirmed to Telegram and dropped, costing no database write. Commands, private
    messages, group migrations and every other kind of update are kept."""
    message = update.message
    if message is None or message.chat.type == Chat.PRIVATE:
        return True
    if message.migrate_to_chat_id or message.migrate_from_chat_id:
        return True
    # A "#": maybe a post for a live wall (bot/core/wall.py checks its hashtag).
    return (message.text or "").startswith("/") or "#" in (message.text or message.caption or "")


def is_anonymous_admin(message: Message) -> bool:
    """Posted by a group admin who chose to stay anonymous (shown as the group itself)."""
    return message.sender_chat is not None and message.sender_chat.id == message.chat.id


ANONYMOUS_PREFIX = "anon:"


def anonymous_admin(message: Message) -> UserRef:
    """An anonymous admin as a person of their own. Telegram sends all of them as the group
    (from: GroupAnonymousBot); what tells them apart is `author_signature`, the admin's
    custom title. So the account is "anon:<group id>:<title>": one per title and group.
    Admins without a custom title can't be told apart and share one account per group
    (docs/decisions.md). Such an account has no private chat: the bot can't DM it."""
    title = (message.author_signature or "").strip()
    return UserRef(PLATFORM, f"{ANONYMOUS_PREFIX}{message.chat.id}:{title}",
                   title or "Anonymous admin")


def is_dm_able(user_id: str) -> bool:
    """Only a real account (a number) has a private chat; an anonymous admin has none."""
    return user_id.isascii() and user_id.isdigit()


def sender_of(message: Message) -> UserRef | None:
    """Who wrote `message`, or None for what the core should not see (bots, channels)."""
    if is_anonymous_admin(message):
        return anonymous_admin(message)
    user = message.from_user
    if user is None or user.is_bot or message.sender_chat is not None:
        return None
    return user_ref(user)


def button_event_id(query_id: str, update_id: int) -> str:
    """What makes a button press one event: Telegram's callback query id (unique, and the
    same when the update comes again); the update id if a query ever came without one."""
    return f"cb:{query_id}" if query_id else f"update:{update_id}"


def poll_answer(answer: TgPollAnswer, update_id: int | None = None) -> PollAnswer | None:
    """The vote, with the update id as its event id: a poll answer has no id of its own,
    and Telegram sends a repeated update with the same update id."""
    # An anonymous voter (a group's anonymous admin, a channel) comes as `voter_chat`; for
    # backward compatibility Telegram may also fill `user` with @Channel_Bot (136817688), the
    # same "user" for every anonymous voter everywhere, so the chat must win.
    if answer.voter_chat is not None:
        voter = chat_as_user(answer.voter_chat)
    elif answer.user is not None:
        voter = user_ref(answer.user)
    else:
        return None
    event_id = None if update_id is None else str(update_id)
    return PollAnswer(PLATFORM, answer.poll_id, voter, tuple(answer.option_ids), event_id)
