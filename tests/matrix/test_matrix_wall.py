"""The live wall on Matrix, on a real Synapse and in a real headless Chromium: an organiser
opens it with !wall, a member's room message carrying the hashtag appears on the open page
without a reload, chatter and other hashtags don't, and !wall hide takes it off."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.readiness import Readiness
from bot.web.server import WebServer
from bot.web.settings import WebSettings
from tests.browser import browser, wait_in_browser  # noqa: F401  (the fixture)
from tests.matrix.conftest import START, MakeBot, MakeMember, RealCore
from tests.matrix.mx_helpers import is_text_from, room_with_bot
from tests.web.conftest import free_port

TZ = ZoneInfo("Europe/Amsterdam")


def post_texts(driver: Any) -> list[str]:
    return [str(t) for t in driver.execute_script(
        "return [...document.querySelectorAll('#posts .post .text')].map(e => e.textContent)")]


async def test_a_room_message_with_the_hashtag_appears_on_the_wall(
        make_bot: MakeBot, make_member: MakeMember, real_core: RealCore, tmp_path: Path,
        browser: Any) -> None:  # noqa: F811
    port = free_port()
    web = WebServer(WebSettings(port=port, public_url=f"http://127.0.0.1:{port}",
                                photo_dir=tmp_path / "photos"), real_core.db.url, Readiness())
    real_core.wall = web
    web.start()
    try:
        bot = await make_bot(core_factory=real_core)
        alice, bob = await make_member("alice"), await make_member("bob")
        room = await room_with_bot(alice, bot.user_id, bob)

        async def command(text: str, expect: str) -> str:
            mark = len(alice.timeline)
            await alice.say(room, text)
            _, reply = await alice.wait_for(is_text_from(bot.user_id, room, expect), after=mark)
            return str(reply["content"]["body"])

        await command("!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en", "SMC Den Bosch")
        when = (START + timedelta(hours=2)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")
        await command(f"!newmeetup Tweetup #73; {when}; Verkadefabriek", "Tweetup #73")
        opened = await command("!wall #tweetup073", "/w/")
        match = re.search(r"(http://\S+/w/[\w-]+)", opened)
        assert match, opened
        await asyncio.to_thread(browser.get, match.group(1))
        browser.execute_script("window.notReloaded = true")

        await bob.say(room, "what a night #tweetup072")  # another hashtag: not this wall
        await bob.say(room, "#Tweetup073 greetings from Matrix")
        await wait_in_browser(browser,
                              lambda d: "#Tweetup073 greetings from Matrix" in post_texts(d), 2.0)
        assert post_texts(browser) == ["#Tweetup073 greetings from Matrix"]
        assert browser.find_element("css selector", "#posts .post .who").text == "Bob"
        assert browser.execute_script("return window.notReloaded") is True

        await command("!wall hide 1", "off the wall")
        await wait_in_browser(browser, lambda d: post_texts(d) == [], 2.0)
    finally:
        web.stop()
