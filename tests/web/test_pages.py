"""What a visitor sees on the chapter and event pages, while members use the chat: counts
that follow the RSVPs, the time in the chapter's timezone, links to answer in the chat, link
previews (OpenGraph) and a schema.org Event, 404s, and nothing a member wrote run as markup."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import aiohttp

from bot.db.models import AdapterState, ChatBinding
from bot.db.session import Database
from bot.web.server import WebServer
from tests.fakes import Chat
from tests.helpers import local


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.text()


def count(page: str, box: str) -> str:
    """The big number in one of the event page's count boxes ("going", "seats-left", ...)."""
    match = re.search(rf'<li id="{box}"><b>([^<]*)</b>', page)
    assert match, f"no {box} box on the page"
    return match.group(1)


def meta(page: str, prop: str) -> str:
    match = re.search(rf'<meta property="{prop}" content="([^"]*)">', page)
    assert match, f"no {prop} on the page"
    return html.unescape(match.group(1))


def json_ld(page: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert match, "no JSON-LD on the page"
    return json.loads(match.group(1))


async def test_event_page_counts_follow_the_rsvps_in_the_chat(site_chat: Chat,
                                                              web: WebServer) -> None:
    chat = site_chat
    setup = await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    assert f"{web.url}/c/smc-den-bosch" in setup[0].text
    when = local(chat, timedelta(days=2))
    posted = await chat.say("alice", f"/newmeetup Borrel; {when}; Verkadefabriek; max 3")
    announcement = next(s.text for s in posted if "Borrel" in s.text)
    assert f"{web.url}/m/1-borrel" in announcement

    status, page = await get(web.url + "/m/1")
    assert status == 200
    assert "Borrel" in page and "Verkadefabriek" in page
    assert (count(page, "going"), count(page, "seats-left"), count(page, "waitlist")) == (
        "0", "3", "0")
    assert "openstreetmap.org/search?query=Verkadefabriek%2C+Den+Bosch" in page
    assert "webcal://127.0.0.1:" in page and "/c/smc-den-bosch/calendar.ics" in page
    assert "Send /rsvp yes in the chapter's group chat." in html.unescape(page)

    await chat.say("bob", "/rsvp yes +1")
    await chat.say("carol", "/rsvp yes +1")  # 2 seats wanted, 1 left: the waitlist
    status, page = await get(web.url + "/m/1-borrel")
    assert status == 200
    assert (count(page, "going"), count(page, "seats-left"), count(page, "waitlist")) == (
        "2", "1", "1")
    assert "Bob" not in page and "Carol" not in page  # counts only, no names

    meetups = await chat.say("dave", "/meetups")
    assert f"{web.url}/m/1-borrel" in meetups[0].text


async def test_time_is_the_chapters_and_the_page_speaks_its_language(site_chat: Chat,
                                                                     web: WebServer) -> None:
    chat = site_chat
    await chat.say("alice", "/setup Tweetup Utrecht; Utrecht; Europe/Amsterdam; nl")
    # 2026-11-26 12:00 UTC now; the chapter's 19:30 is 18:30 UTC.
    await chat.say("alice", "/newmeetup Borrel; 2026-12-03 19:30; ends 22:00; Stadscafé")
    status, page = await get(web.url + "/m/1")
    assert status == 200
    assert '<html lang="nl">' in page
    assert "do 3 dec 2026, 19:30–22:00" in page
    assert "Beantwoord in de chat" in page and "Plaatsen over" in page
    assert json_ld(page)["startDate"] == "2026-12-03T19:30:00+01:00"
    status, page = await get(web.url + "/c/tweetup-utrecht")
    assert status == 200 and "Komende meetups" in page


async def test_answer_in_the_chat_links(site_chat: Chat, web: WebServer, db: Database) -> None:
    chat = site_chat
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=2))}; Café")
    async with db.transaction() as s:  # the adapters: the bot's @name, and a linked room
        s.add(AdapterState(platform="telegram", key="username", value="irl_meetup_bot"))
        s.add(ChatBinding(chapter_id=1, platform="telegram", chat_id="-100123"))
        s.add(ChatBinding(chapter_id=1, platform="matrix", chat_id="!room:example.org"))
    _status, page = await get(web.url + "/m/1")
    assert 'href="https://t.me/irl_meetup_bot?start=m1"' in page
    assert 'href="https://matrix.to/#/!room:example.org"' in page
    assert "Or send /rsvp yes in the chapter's group chat." in html.unescape(page)

    # The Telegram link opens a private chat with /start m1: the meetup, with its buttons.
    sent = await chat.dm("erin", "/start m1")
    offer = next(s for s in sent if "Borrel" in s.text)
    assert [b.payload for b in offer.buttons] == ["rsvp:1:yes", "rsvp:1:maybe", "rsvp:1:no"]
    await chat.press_in_dm("erin", "rsvp:1:yes")
    _status, page = await get(web.url + "/m/1")
    assert count(page, "going") == "1"


async def test_index_and_chapter_page_with_attendance(site_chat: Chat, web: WebServer) -> None:
    chat = site_chat
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(hours=2))}; Café")
    await chat.say("alice", f"/newmeetup Talks; {local(chat, timedelta(days=9))}; Library")
    await chat.press("bob", "rsvp:1:yes")
    await chat.press("carol", "rsvp:1:yes")
    status, page = await get(web.url + "/")
    assert status == 200
    assert "SMC Den Bosch" in page and "Den Bosch" in page
    assert f'href="{web.url}/c/smc-den-bosch"' in page
    assert f'href="{web.url}/m/1-borrel"' in page  # the next meetup

    await chat.advance(timedelta(hours=1, minutes=30))  # check-in is open
    await chat.say("bob", "/checkin")
    await chat.advance(timedelta(hours=5))  # the meetup is over
    status, page = await get(web.url + "/c/smc-den-bosch")
    assert status == 200
    upcoming, past = page.split("Past meetups")
    assert "Talks" in upcoming and "Borrel" not in upcoming
    assert "Borrel" in past and "2 going" in past and "1 checked in" in past
    assert "Bob" not in page and "Carol" not in page
    status, page = await get(web.url + "/")
    assert f'href="{web.url}/m/2-talks"' in page  # the next one now


async def test_previews_and_json_ld(site_chat: Chat, web: WebServer) -> None:
    chat = site_chat
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=2))}; "
                            "Verkadefabriek; max 40; about Short talks, then drinks")
    _status, page = await get(web.url + "/m/1")
    assert meta(page, "og:title") == "Borrel"
    assert meta(page, "og:url") == f"{web.url}/m/1-borrel"
    assert "Verkadefabriek" in meta(page, "og:description")
    event = json_ld(page)
    assert event["@context"] == "https://schema.org" and event["@type"] == "Event"
    assert event["name"] == "Borrel" and event["location"]["name"] == "Verkadefabriek"
    assert event["remainingAttendeeCapacity"] == 40
    assert event["eventStatus"] == "https://schema.org/EventScheduled"
    _status, page = await get(web.url + "/c/smc-den-bosch")
    assert meta(page, "og:title") == "SMC Den Bosch"
    assert [e["name"] for e in json_ld(page)["@graph"]] == ["Borrel"]


async def test_a_title_with_markup_is_shown_as_text(site_chat: Chat, web: WebServer) -> None:
    chat = site_chat
    await chat.say("alice", "/setup <b>Club</b>; Den Bosch; Europe/Amsterdam; en")
    title = '</script><script>alert("x")</script>'
    await chat.say("alice", f"/newmeetup {title}; {local(chat, timedelta(days=2))}; <i>Bar</i>")
    for path in ("/m/1", "/c/b-club-b", "/"):
        status, page = await get(web.url + path)
        assert status == 200
        assert "<script>alert" not in page and "<b>Club" not in page and "<i>Bar" not in page
        assert page.count("</script>") == (path != "/")  # the JSON-LD's own end, if any
    _status, page = await get(web.url + "/m/1")
    assert "&lt;/script&gt;&lt;script&gt;alert(" in page
    assert json_ld(page)["name"] == title  # escaped in the script, the same text once parsed


async def test_unknown_pages_are_404(site_chat: Chat, web: WebServer) -> None:
    await site_chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    for path in ("/m/1", "/m/99-borrel", "/m/abc", "/m/" + "9" * 40, "/c/nope",
                 "/c/SMC%20Den%20Bosch", "/c/" + "a" * 200, "/c/nope/calendar.ics"):
        status, page = await get(web.url + path)
        assert status == 404, path
        assert "Not found" in page


async def test_a_meetup_whose_date_is_voted_on(site_chat: Chat, web: WebServer) -> None:
    chat = site_chat
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    d1, d2 = local(chat, timedelta(days=5)), local(chat, timedelta(days=6))
    await chat.say("alice", f"/newmeetup Tweetup; {d1} | {d2}; Verkadefabriek")
    status, page = await get(web.url + "/m/1-tweetup")
    assert status == 200 and "date still being voted on" in page
    assert json_ld(page)["name"] == "Tweetup" and "startDate" not in json_ld(page)
    _status, page = await get(web.url + "/c/smc-den-bosch")
    assert "Tweetup" in page.split("Past meetups")[0]
    feed = await get(web.url + "/c/smc-den-bosch/calendar.ics")
    assert feed[0] == 200 and "Tweetup" not in feed[1]  # no date, nothing to put in a calendar
