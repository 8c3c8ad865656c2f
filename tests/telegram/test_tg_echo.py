"""What members wrote, shown back on Telegram (issue 10, points 5 and 7): an intro holding
"/cancel@irl_test_bot" is not a command anyone can tap in /who, and each anonymous admin is a
person of their own.

The real core and adapter, the fake Bot API in between. The fake does not mark entities in
what the bot sends, so `bot_commands` finds them as Telegram does (tdlib's
find_bot_commands): a "/" at the start or after a character that is not a letter, digit,
"_", "/", "<", ">" or "\\", then ASCII letters, digits or "_", then "@" and a username.
"""

from __future__ import annotations

import time
import unicodedata
from datetime import timedelta

from bot.adapters.telegram import TelegramAdapter
from bot.clock import VirtualClock
from bot.core.app import Core
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.fake_bot_api.model import FakeChat
from tests.telegram.test_tg_scenario import local

GROUP_ANONYMOUS_BOT = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                       "username": "GroupAnonymousBot"}


def _word(ch: str) -> bool:
    return ch == "_" or unicodedata.category(ch)[0] in "LN"


def _command_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def bot_commands(text: str) -> list[str]:
    """The bot_command entities Telegram marks in `text`."""
    found = []
    at = 0
    while (at := text.find("/", at)) != -1:
        start = at
        at += 1
        if start > 0 and (_word(text[start - 1]) or text[start - 1] in "/<>\\"):
            continue
        end = at
        while end < len(text) and _command_char(text[end]):
            end += 1
        if end == at or end - at > 64:
            continue
        if end < len(text) and text[end] == "@":
            mention = end + 1
            while mention < len(text) and _command_char(text[mention]):
                mention += 1
            if not 3 <= mention - end - 1 <= 32:
                continue
            end = mention
        if end < len(text) and (_word(text[end]) or text[end] in "/<>\\"):
            continue
        found.append(text[start:end])
    return found


def test_bot_commands_as_telegram_finds_them() -> None:
    assert bot_commands("send /rsvp yes or /who@irl_test_bot.") == ["/rsvp", "/who@irl_test_bot"]
    assert bot_commands("and/or https://t.me/x /\u2060cancel") == []


async def test_an_intro_with_a_command_is_no_command_in_who(
        fake: FakeBotAPI, wired: tuple[TelegramAdapter, Core], clock: VirtualClock) -> None:
    alice = fake.add_user("Alice", language_code="en")
    bob = fake.add_user("Bob /stats", language_code="en", started=True)
    group = fake.add_group("SMC Den Bosch", members=[bob], creator=alice)
    fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    fake.user_sends(alice, group, f"/newmeetup Borrel /closepoll; {local(clock, timedelta(days=3))}; "
                                  "Café (/recurring off)")
    await fake.wait_for(lambda: any("New meetup!" in t for t in fake.texts(group)))
    fake.start_bot(bob)
    fake.user_sends(bob, fake.private_chat(bob), "/intro tap /cancel@irl_test_bot, or /cancel")
    fake.user_sends(bob, group, "/rsvp yes")
    await fake.wait_for(lambda: any("Bob" in t and "going" in t for t in fake.texts(group)))
    fake.user_sends(bob, group, "/who")
    await fake.wait_for(lambda: any("Going (1)" in t for t in fake.texts(group)), what="/who")
    (who,) = [t for t in fake.texts(group) if "Going (1)" in t]
    assert "cancel@irl_test_bot, or" in who and "Borrel" in who  # all there, to read ...
    assert bot_commands(who) == []  # ... and nothing to tap
    announcement = next(t for t in fake.texts(group) if "Coming?" in t)
    assert bot_commands(announcement) == ["/rsvp", "/rsvp"]  # the bot's own commands stay


def anonymous_message(fake: FakeBotAPI, group: FakeChat, text: str, title: str | None) -> None:
    """An admin who posts as the group: from GroupAnonymousBot, sender_chat the group, and
    their custom title (if any) as author_signature."""
    message = {"message_id": int(time.time() * 1000) % 1_000_000_000, "from": GROUP_ANONYMOUS_BOT,
               "sender_chat": group.to_api(), "chat": group.to_api(), "date": int(time.time()),
               "text": text,
               "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}
    if title is not None:
        message["author_signature"] = title
    fake.push_update("message", message)


async def test_each_anonymous_admin_is_a_person_of_their_own(
        fake: FakeBotAPI, wired: tuple[TelegramAdapter, Core], clock: VirtualClock) -> None:
    alice = fake.add_user("Alice", language_code="en")
    group = fake.add_group("SMC Den Bosch", creator=alice)
    fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    fake.user_sends(alice, group, f"/newmeetup Borrel; {local(clock, timedelta(days=3))}")
    await fake.wait_for(lambda: any("New meetup!" in t for t in fake.texts(group)))
    anonymous_message(fake, group, "/rsvp yes", "Chair")
    await fake.wait_for(lambda: any("Chair is going" in t for t in fake.texts(group)))
    anonymous_message(fake, group, "/rsvp yes +1", "Host")
    await fake.wait_for(lambda: any("Host is going" in t for t in fake.texts(group)))
    anonymous_message(fake, group, "/rsvp maybe", None)  # no custom title
    await fake.wait_for(lambda: any("Anonymous admin might" in t for t in fake.texts(group)))
    fake.user_sends(alice, group, "/who")
    await fake.wait_for(lambda: any("Going (3)" in t for t in fake.texts(group)), what="/who")
    (who,) = [t for t in fake.texts(group) if "Going (3)" in t]
    assert "• Chair\n• Host (+1)\nMaybe:\n• Anonymous admin" in who
