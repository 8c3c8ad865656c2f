"""The event page in a real headless Chromium: its counts as a visitor sees them, and after
an RSVP in the chat (the page has no script: a reload shows the new counts)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.web.server import WebServer
from tests.browser import browser  # noqa: F401  (the fixture)
from tests.fakes import Chat
from tests.helpers import local


def counts(driver: Any) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    return {box: driver.find_element(By.CSS_SELECTOR, f"#{box} b").text
            for box in ("going", "seats-left", "waitlist")}


async def test_the_event_page_shows_its_counts_and_they_follow_an_rsvp(
        site_chat: Chat, web: WebServer, browser: Any) -> None:  # noqa: F811
    chat = site_chat
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=2))}; "
                            "Verkadefabriek; max 2")
    await chat.say("bob", "/rsvp yes")
    await asyncio.to_thread(browser.get, web.url + "/m/1")
    assert browser.title.startswith("Borrel")
    assert await asyncio.to_thread(counts, browser) == {
        "going": "1", "seats-left": "1", "waitlist": "0"}
    await chat.say("carol", "/rsvp yes")
    await chat.say("dave", "/rsvp yes")  # the meetup is full: dave waits
    await asyncio.to_thread(browser.refresh)
    assert await asyncio.to_thread(counts, browser) == {
        "going": "2", "seats-left": "0", "waitlist": "1"}
    page = (await asyncio.to_thread(lambda: browser.page_source)).lower()
    assert "carol" not in page and "dave" not in page  # counts only, no names
