"""What the bot hears and says on Telegram: commands, the menu, buttons, edits, DMs, files, long texts.

The real python-telegram-bot Application, driven through the fake Bot API, with a recording
stand-in for the core: what goes in becomes neutral values, what the core sends ends up in the
fake's transcript.
"""

from __future__ import annotations

import pytest

from bot.adapters.telegram import TelegramAdapter
from bot.core.commands import ALIASES, COMMANDS
from bot.core.messages import Button, Inbound, OutFile, UserRef
from bot.core.ports import CannotDM
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_support import RecordingCore, tg


async def test_group_command_becomes_inbound(
    fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    alice = fake.add_user("Alice", "de Vries", username="alice")
    bob = fake.add_user("Bob")
    group = fake.add_group("SMC Den Bosch", members=[bob], creator=alice)

    fake.user_sends(alice, group, "/newmeetup@irl_test_bot Borrel; vrijdag 20:00")
    fake.user_sends(bob, group, "/rsvp yes")
    await fake.wait_for(lambda: len(core.messages) == 2, what="two inbound messages")

    first, second = core.messages
    assert first == Inbound(
        chat=tg(group.id),
        sender=UserRef("telegram", str(alice.id), "Alice de Vries"),
        text="/newmeetup Borrel; vrijdag 20:00",
        is_private=False,
        sender_is_admin=True,
        message_id=first.message_id,
    )
    assert second.text == "/rsvp yes" and not second.sender_is_admin
    assert len(fake.calls("getChatAdministrators")) == 1  # cached for the second message


async def test_private_start_and_commands_for_other_bots(
    fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    alice = fake.add_user("Alice")
    group = fake.add_group("Tweetup", members=[alice], bot_admin=True)  # admin: sees all
    fake.user_sends(alice, group, "/help@some_other_bot")
    fake.user_sends(alice, group, "hello all")  # chatter: dropped before the inbox
    fake.user_sends(alice, group, "/who")
    fake.start_bot(alice)
    await fake.wait_for(lambda: len(core.messages) == 2)

    # Different chats are handled side by side, so only the order within a chat is fixed.
    (plain,) = [m for m in core.messages if m.chat == tg(group.id)]
    (start,) = [m for m in core.messages if m.is_private]
    assert plain.text == "/who"
    assert start.text == "/start" and start.is_private and start.chat == tg(alice.id)


async def test_admin_changes_refresh_the_cache(
    fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    owner, carol = fake.add_user("Olga"), fake.add_user("Carol")
    group = fake.add_group("Veghel", members=[carol], creator=owner, bot_admin=True)
    fake.user_sends(carol, group, "/setup x")
    await fake.wait_for(lambda: len(core.messages) == 1)
    fake.set_admin(group, carol)
    fake.user_sends(carol, group, "/setup y")
    await fake.wait_for(lambda: len(core.messages) == 2)
    fake.set_admin(group, carol, admin=False)
    fake.user_sends(carol, group, "/setup z")
    await fake.wait_for(lambda: len(core.messages) == 3)

    assert [m.sender_is_admin for m in core.messages] == [False, True, False]
    assert len(fake.calls("getChatAdministrators")) == 1


async def test_commands_menu_in_english_and_dutch(fake: FakeBotAPI, adapter: TelegramAdapter) -> None:
    english = fake.commands[("default", "")]
    dutch = fake.commands[("default", "nl")]
    assert {c["command"] for c in english} >= {"newmeetup", "rsvp", "who", "ics"}
    # The Dutch menu names a command by its Dutch name where it has one (/wie for /who).
    assert {ALIASES["nl"].get(c["command"], c["command"]) for c in dutch} == {
        c["command"] for c in english}
    assert english != dutch
    assert {c["command"] for c in english} <= set(COMMANDS)  # only what the core answers
    # From the catalogs (bot/locales): the English msgid, and its Dutch in nl's catalog.
    assert {c["command"]: c["description"] for c in english}["who"] == "Who is coming"
    assert {c["command"]: c["description"] for c in dutch}["wie"] == "Wie er komt"


async def test_send_text_with_buttons_and_button_presses(
    fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    alice = fake.add_user("Alice")
    group = fake.add_group("Eindhoven", members=[alice])
    buttons = [
        Button("Going", "rsvp:7:yes"),
        Button("Maybe", "rsvp:7:maybe"),
        Button("Can't", "rsvp:7:no"),
    ]
    sent = await adapter.messenger.send_text(tg(group.id), "Borrel vrijdag", buttons)

    message = fake.last(group)
    assert sent.chat == tg(group.id) and sent.message_id == str(message.message_id)
    assert message.text == "Borrel vrijdag"
    assert message.buttons == [(b.label, b.payload) for b in buttons]

    query = fake.press(alice, message, "Maybe")
    forged = fake.press(alice, message, data="rsvp:999:yes")
    await fake.wait_for(lambda: fake.answer_to(forged) is not None)

    pressed, forged_action = core.actions
    assert pressed.chat == tg(group.id) and pressed.payload == "rsvp:7:maybe"
    assert pressed.sender.id == str(alice.id) and not pressed.sender_is_admin
    assert forged_action.payload == "rsvp:999:yes"
    answer = fake.answer_to(query)
    assert answer is not None and answer.text == "Noted: rsvp:7:maybe"


async def test_edits_are_coalesced_latest_text_wins(fake: FakeBotAPI, adapter: TelegramAdapter) -> None:
    group = fake.add_group("Amsterdam")
    buttons = [Button("Going", "rsvp:1:yes")]
    sent = await adapter.messenger.send_text(tg(group.id), "Going: 0", buttons)
    for n in range(1, 11):
        await adapter.messenger.edit_text(tg(group.id), sent.message_id, f"Going: {n}", buttons)
    await adapter.messenger.settle()

    message = fake.last(group)
    assert message.text == "Going: 10" and message.buttons == [("Going", "rsvp:1:yes")]
    edits = fake.calls("editMessageText")
    assert 1 <= len(edits) <= 2
    if len(edits) == 2:
        assert edits[1].at - edits[0].at >= 0.3  # the edit interval of the fixture


async def test_dm_needs_start_and_blocked_is_cannot_dm(fake: FakeBotAPI, adapter: TelegramAdapter) -> None:
    alice, bob, carol = fake.add_user("Alice"), fake.add_user("Bob"), fake.add_user("Carol")
    fake.start_bot(alice)
    fake.start_bot(carol)
    fake.block_bot(carol)
    messenger = adapter.messenger

    sent = await messenger.send_dm(UserRef("telegram", str(alice.id)), "Morgen: borrel")
    assert sent.chat == tg(alice.id) and fake.texts(alice.id) == ["Morgen: borrel"]
    for user in (bob, carol):
        ref = UserRef("telegram", str(user.id), user.first_name)
        with pytest.raises(CannotDM) as caught:
            await messenger.send_dm(ref, "Morgen: borrel")
        assert caught.value.user == ref
        assert caught.value.start_hint == "https://t.me/irl_test_bot?start=hi"
    with pytest.raises(CannotDM):
        await messenger.send_dm(UserRef("telegram", "424242"), "unknown person")
    codes = [r.status for r in fake.calls("sendMessage")]
    assert codes == [200, 403, 403, 400]


async def test_a_followers_dm_carries_the_rsvp_buttons(
        fake: FakeBotAPI, adapter: TelegramAdapter) -> None:
    alice = fake.add_user("Alice")
    fake.start_bot(alice)
    buttons = [Button("✅ Going", "rsvp:7:yes"), Button("🤔 Maybe", "rsvp:7:maybe")]
    sent = await adapter.messenger.send_dm(UserRef("telegram", str(alice.id)), "New meetup",
                                           buttons=buttons)
    assert sent.chat == tg(alice.id)
    dm = fake.last(alice.id)
    assert dm.text == "New meetup"
    assert dm.buttons == [("✅ Going", "rsvp:7:yes"), ("🤔 Maybe", "rsvp:7:maybe")]


async def test_files_and_dm_with_calendar(fake: FakeBotAPI, adapter: TelegramAdapter) -> None:
    alice = fake.add_user("Alice")
    fake.start_bot(alice)
    group = fake.add_group("Den Bosch", members=[alice])
    ics = OutFile("meetup.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")

    await adapter.messenger.send_file(tg(group.id), ics, caption="De volgende meetup")
    await adapter.messenger.send_dm(UserRef("telegram", str(alice.id)), "Herinnering", ics)

    (doc,) = fake.documents(group)
    assert doc.file_name == "meetup.ics" and doc.content == ics.content
    assert doc.mime_type == "text/calendar"
    dm = fake.last(alice.id)
    assert dm.kind == "document" and dm.text == "Herinnering"


async def test_long_text_is_split(fake: FakeBotAPI, adapter: TelegramAdapter) -> None:
    group = fake.add_group("Den Bosch")
    lines = [f"{i}. Person {i} — one line intro about themselves" for i in range(200)]
    await adapter.messenger.send_text(tg(group.id), "\n".join(lines), [Button("Going", "x:1")])
    texts = fake.texts(group)
    assert len(texts) > 1 and "\n".join(texts) == "\n".join(lines)
    assert fake.bot_messages(group)[-1].buttons == [("Going", "x:1")]
