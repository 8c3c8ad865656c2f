"""Calendar feeds as a calendar app reads them: the chapter's feed with every meetup (a stable
UID, SEQUENCE, the page as URL), a cancellation seen on the next fetch, and a member's private
feed from /calendar with only the meetups they said yes or maybe to, its address replaced by
/calendar reset."""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp
from icalendar import Calendar
from sqlalchemy import func, select

from bot.db.models import CalendarToken
from bot.db.session import Database
from bot.web.server import WebServer
from tests.fakes import Chat
from tests.helpers import local, snapshot


async def fetch(url: str) -> tuple[int, bytes, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.read(), resp.content_type


async def events(url: str) -> dict[str, dict[str, str]]:
    """The feed's events by UID, each with the properties a calendar app reads."""
    status, body, content_type = await fetch(url)
    assert status == 200 and content_type == "text/calendar"
    calendar = Calendar.from_ical(body)
    return {str(e["uid"]): {"summary": str(e["summary"]), "sequence": int(e["sequence"]),
                            "status": str(e.get("status", "")), "url": str(e.get("url", ""))}
            for e in calendar.walk("VEVENT")}


async def test_chapter_feed_and_a_cancellation(site_chat: Chat, web: WebServer) -> None:
    chat = site_chat
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=2))}; Café")
    await chat.say("alice", f"/newmeetup Talks; {local(chat, timedelta(days=9))}; Library")
    feed = f"{web.url}/c/smc-den-bosch/calendar.ics"
    _status, page, _type = await fetch(f"{web.url}/c/smc-den-bosch")
    assert f'href="{feed.replace("http://", "webcal://")}"'.encode() in page

    before = await events(feed)
    assert set(before) == {"meetup-1@irlbot", "meetup-2@irlbot"}
    assert before["meetup-1@irlbot"]["summary"] == "Borrel"
    assert before["meetup-1@irlbot"]["url"] == f"{web.url}/m/1-borrel"
    assert before["meetup-1@irlbot"]["status"] == ""

    asked = await chat.say("alice", "/cancel")
    assert "Cancel Borrel?" in asked[0].text
    assert (await events(feed))["meetup-1@irlbot"]["status"] == ""  # not yet
    await chat.say("alice", "/cancel yes")
    after = await events(feed)
    assert set(after) == set(before)  # the same entries, updated in place
    assert after["meetup-1@irlbot"]["status"] == "CANCELLED"
    assert after["meetup-1@irlbot"]["sequence"] > before["meetup-1@irlbot"]["sequence"]
    assert after["meetup-2@irlbot"] == before["meetup-2@irlbot"]

    _status, page, _type = await fetch(f"{web.url}/m/1")
    assert b"Cancelled" in page


async def test_personal_feed_has_what_the_member_said_yes_or_maybe_to(
        site_chat: Chat, web: WebServer) -> None:
    chat = site_chat
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    for title, days in (("Borrel", 2), ("Talks", 9), ("Picnic", 16), ("Quiz", 23)):
        await chat.say("alice", f"/newmeetup {title}; {local(chat, timedelta(days=days))}")
    await chat.say("bob", "/rsvp yes")  # the next one: Borrel
    await chat.press("bob", "rsvp:2:maybe")
    await chat.press("bob", "rsvp:3:no")
    await chat.press("carol", "rsvp:4:yes")  # not bob's

    reply = await chat.dm("bob", "/calendar")
    url = re.search(r"http://\S+/feed/\S+\.ics", reply[0].text).group(0)
    assert url.replace("http://", "webcal://") in reply[0].text
    mine = await events(url)
    assert {e["summary"] for e in mine.values()} == {"Borrel", "Talks"}

    await chat.press("bob", "rsvp:2:no")  # a change of mind shows on the next fetch
    assert {e["summary"] for e in (await events(url)).values()} == {"Borrel"}

    again = await chat.dm("bob", "/calendar")
    assert url in again[0].text  # the same address until it is reset


async def test_calendar_reset_retires_the_old_address(site_chat: Chat, web: WebServer) -> None:
    chat = site_chat
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=2))}")
    await chat.say("bob", "/rsvp yes")
    first = re.search(r"http://\S+\.ics", (await chat.dm("bob", "/calendar"))[0].text).group(0)
    assert (await fetch(first))[0] == 200
    reply = await chat.dm("bob", "/calendar reset")
    assert "the old one no longer works" in reply[0].text
    second = re.search(r"http://\S+\.ics", reply[0].text).group(0)
    assert second != first
    status, body, _type = await fetch(first)
    assert status == 404 and b"Not found" in body
    assert {e["summary"] for e in (await events(second)).values()} == {"Borrel"}
    assert (await fetch(f"{web.url}/feed/not-a-token.ics"))[0] == 404
    assert (await fetch(f"{web.url}/feed/{'x' * 32}.ics"))[0] == 404


async def test_calendar_is_refused_in_the_group(site_chat: Chat, web: WebServer,
                                                db: Database) -> None:
    chat = site_chat
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.say("bob", "/help")
    before = await snapshot(db)
    reply = await chat.say("bob", "/calendar")
    assert reply[0].to == "group"
    assert "private chat" in reply[0].text and "http" not in reply[0].text
    assert await snapshot(db) == before
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(CalendarToken)) == 0


async def test_calendar_without_the_web_server(chat: Chat) -> None:
    """No [web] section: no feed to give, and /ics named instead; nothing else changes."""
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    reply = await chat.dm("bob", "/calendar")
    assert "no web pages" in reply[0].text and "/ics" in reply[0].text
    setup = await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    assert "http" not in setup[0].text
    posted = await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=2))}")
    assert all("http" not in s.text for s in posted)


async def test_calendar_in_dutch(site_chat: Chat, web: WebServer) -> None:
    chat = site_chat
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl")
    await chat.dm("bob", "/language nl")
    reply = await chat.dm("bob", "/calendar")
    assert "Abonneer je erop in je agenda-app" in reply[0].text
