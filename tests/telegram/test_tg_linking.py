"""Linking two Telegram groups through the Bot API fake: the code goes by DM (with the start
hint first), a member who reads the whole group gets nowhere, rights from a group end when its
admin is demoted, and /cancel asks first with a button."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.telegram import FloodLimits, TelegramAdapter
from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.session import Database
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_support import make_adapter

TZ = ZoneInfo("Europe/Amsterdam")
ADMIN_TTL = 0.5  # the adapter's admin cache, shortened from its 60 s for the test


@pytest.fixture
async def linked_wiring(fake: FakeBotAPI, db: Database, clock: VirtualClock,
                        client_limits: FloodLimits) -> AsyncIterator[tuple[TelegramAdapter, Core]]:
    adapter = make_adapter(fake, client_limits, db, admin_ttl=ADMIN_TTL)
    # Eve tries every word the bot posted; the per-member limit would silence her after 10
    # (tests/core/test_command_limit.py), here each guess is answered.
    core = Core(db, {"telegram": adapter.messenger}, clock, CoreSettings(commands_per_minute=0))
    adapter.bind(core)
    await adapter.start()
    try:
        yield adapter, core
    finally:
        await adapter.stop()


async def test_linking_two_groups_by_dm_and_cancel_with_a_button(
        fake: FakeBotAPI, linked_wiring: tuple[TelegramAdapter, Core], clock: VirtualClock) -> None:
    alice = fake.add_user("Alice", language_code="en")
    zoe = fake.add_user("Zoe", language_code="en")
    eve = fake.add_user("Eve", language_code="en")
    home = fake.add_group("SMC Den Bosch", members=[eve], creator=alice)
    other = fake.add_group("SMC Den Bosch 2", admins=[zoe])
    eves = fake.add_group("Eve's own", creator=eve)

    async def say(user, chat, text: str) -> str:  # type: ignore[no-untyped-def]
        before = len(fake.texts(chat))
        fake.user_sends(user, chat, text)
        await fake.wait_for(lambda: len(fake.texts(chat)) > before, what=f"answer to {text}")
        return fake.texts(chat)[before]

    await say(alice, home, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    # Alice never started the bot: the hint, and no code anywhere.
    hint = await say(alice, home, "/link")
    assert "https://t.me/irl_test_bot?start=" in hint and "/link here again" in hint
    fake.start_bot(alice)
    await fake.wait_for(lambda: len(fake.texts(alice.id)) == 1, what="the /start answer")
    reply = await say(alice, home, "/link")
    assert "sent you a link code in a private chat" in reply
    await fake.wait_for(lambda: len(fake.texts(alice.id)) == 2, what="the code by DM")
    code = re.search(r"/link ([0-9A-F]{12})", fake.texts(alice.id)[-1])
    assert code is not None
    assert not any(code.group(1) in t for t in fake.texts(home))

    # Eve, a plain member, reads everything the bot posted in the group: nothing to use.
    assert await say(eve, home, "/link") == "Only organisers can do that."
    for word in sorted({w for t in fake.texts(home) for w in re.findall(r"\w{6,}", t)}):
        assert "unknown or has expired" in await say(eve, eves, f"/link {word}")

    # Alice hands the code to Zoe, admin of the other group: both groups hear it.
    assert "is now part of SMC Den Bosch" in await say(zoe, other, f"/link {code.group(1)}")
    await fake.wait_for(lambda: "is now part of" in fake.texts(home)[-1], what="heard at home")
    assert "unknown or has expired" in await say(eve, eves, f"/link {code.group(1)}")

    # Zoe organises in her group while she is its admin.
    when = (clock.now() + timedelta(days=3)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    assert "Borrel" in await say(zoe, other, f"/newmeetup Borrel; {when}")
    fake.set_admin(other, zoe, False)  # the bot is no admin there: it hears nothing of it
    await asyncio.sleep(ADMIN_TTL * 2)  # its admin cache ages (60 s in production)
    assert await say(zoe, other, "/cancel") == "Only organisers can do that."

    # /cancel asks first; the button under the question confirms it.
    question = await say(alice, home, "/cancel")
    assert question.startswith("Cancel Borrel?")
    message = fake.bot_messages(home)[-1]
    assert [label for label, _ in message.buttons] == ["/cancel yes"]
    forged = fake.press(eve, message, data=message.buttons[0][1])
    tapped = fake.press(alice, message, data=message.buttons[0][1])
    await fake.wait_for(lambda: fake.answer_to(tapped) is not None and
                        fake.answer_to(forged) is not None, what="the toasts")
    assert fake.answer_to(forged).text == "Only the person who asked can confirm this."  # type: ignore[union-attr]
    assert fake.answer_to(tapped).text == "Done."  # type: ignore[union-attr]
    await fake.wait_for(lambda: any("Borrel is cancelled" in t for t in fake.texts(other)),
                        what="the cancellation in the other group")
