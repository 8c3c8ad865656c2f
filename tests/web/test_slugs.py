"""Chapter page addresses: made from the name, unique, kept through a rename, and given to
the chapters that existed before the pages by the migration."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
from sqlalchemy import select, text

from bot.db.models import Chapter
from bot.db.session import Database
from bot.web.server import WebServer
from tests.fakes import Chat

BEFORE_PAGES = "c5e9a2d4f7b1"


async def status_of(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status


async def test_same_name_gets_its_own_address_and_a_rename_keeps_it(site_chat: Chat,
                                                                    web: WebServer) -> None:
    chat = site_chat
    first = await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    assert f"{web.url}/c/smc-den-bosch\n" in first[0].text + "\n"
    other = Chat(chat.core, chat.messenger, chat.clock, chat_id="group2", admins=("zoe",))
    second = await other.say("zoe", "/setup SMC Den Bosch; 's-Hertogenbosch; Europe/Amsterdam; nl")
    assert f"{web.url}/c/smc-den-bosch-2" in second[0].text
    third = await other.say("zoe", "/setup Café Überdruck!; Utrecht; Europe/Amsterdam; nl")
    assert f"{web.url}/c/smc-den-bosch-2" in third[0].text  # renamed: the address stays
    async with aiohttp.ClientSession() as http, http.get(web.url + "/c/smc-den-bosch-2") as resp:
        page = await resp.text()
    assert resp.status == 200 and "Café Überdruck!" in page and "Utrecht" in page
    assert await status_of(web.url + "/c/cafe-uberdruck") == 404


async def test_the_migration_gives_existing_chapters_an_address(db_url: str) -> None:
    db = Database(db_url)
    try:
        await db.migrate(BEFORE_PAGES)
        async with db.transaction() as s:
            for name in ("SMC Den Bosch", "SMC Den Bosch", "🎉", "Tweetup Zwolle"):
                await s.execute(text(
                    "INSERT INTO chapters (name, city, timezone, language, created_at) "
                    "VALUES (:name, 'X', 'Europe/Amsterdam', 'en', :at)"),
                    {"name": name, "at": datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)})
        await db.migrate()
        async with db.transaction() as s:
            slugs = list(await s.scalars(select(Chapter.slug).order_by(Chapter.id)))
        assert slugs == ["smc-den-bosch", "smc-den-bosch-2", "chapter", "tweetup-zwolle"]
    finally:
        await db.dispose()
