"""A group upgraded to a supergroup keeps its chapter, and buttons posted before the upgrade still count."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.adapters.telegram import TelegramAdapter
from bot.clock import VirtualClock
from bot.core.app import Core
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_support import RecordingCore, tg

TZ = ZoneInfo("Europe/Amsterdam")


async def test_group_migration_keeps_the_chapter(
    fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    alice = fake.add_user("Alice")
    group = fake.add_group("Den Bosch", creator=alice)
    supergroup = fake.migrate_to_supergroup(group, by=alice)
    await fake.wait_for(lambda: len(core.migrations) == 1)
    await fake.wait_for(lambda: fake.pending_updates == 0)

    await adapter.messenger.send_text(tg(group.id), "still here")
    assert core.migrations == [(tg(group.id), tg(supergroup.id))]
    assert fake.texts(supergroup) == ["still here"]


async def test_chat_migrated_error_before_the_update(
    fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    alice = fake.add_user("Alice")
    group = fake.add_group("Den Bosch", creator=alice)
    await adapter.stop()  # no updates: the bot learns of it from the 400 ChatMigrated
    supergroup = fake.migrate_to_supergroup(group, by=alice)
    await adapter.application.initialize()
    try:
        sent = await adapter.messenger.send_text(tg(group.id), "hello")
    finally:
        await adapter.application.shutdown()
    assert sent.chat == tg(supergroup.id)
    assert core.migrations == [(tg(group.id), tg(supergroup.id))]


async def test_rsvp_button_from_before_the_supergroup_upgrade_still_works(
    fake: FakeBotAPI, wired: tuple[TelegramAdapter, Core], clock: VirtualClock
) -> None:
    """The announcement was posted while the chat was a basic group. Telegram keeps that
    message in the old chat, so a tap on its buttons arrives with the old chat id; the
    chapter now lives under the supergroup's id. The tap must still count."""
    alice = fake.add_user("Alice", language_code="en")
    bob = fake.add_user("Bob", language_code="en")
    group = fake.add_group("SMC Den Bosch", members=[bob], creator=alice)
    fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await fake.wait_for(lambda: len(fake.texts(group)) == 1, what="setup answer")
    when = (clock.now() + timedelta(days=5)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    fake.user_sends(alice, group, f"/newmeetup Borrel; {when}; Café de Unie")
    await fake.wait_for(lambda: any(m.buttons for m in fake.bot_messages(group)), what="announcement")
    announcement = next(m for m in fake.bot_messages(group) if m.buttons)

    supergroup = fake.migrate_to_supergroup(group, by=alice)
    await fake.wait_for(lambda: fake.pending_updates == 0, what="migration delivered")
    fake.user_sends(alice, supergroup, "/meetups")  # handled after the migration notes
    await fake.wait_for(lambda: len(fake.texts(supergroup)) == 1, what="/meetups in the supergroup")

    going = fake.press(bob, announcement, data=announcement.buttons[0][1])
    await fake.wait_for(lambda: fake.answer_to(going) is not None, what="toast")
    toast = fake.answer_to(going)
    assert toast is not None and "Bob is going" in toast.text
