"""The live wall, driven as organisers and members would, seen as a visitor of the page sees
it: /wall opens it, hashtag posts arrive on the open page through server-sent events, /wall
hide takes one off, bans, approval first with the moderation page, the blocklist, 404s."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.session import Database
from bot.readiness import Readiness
from bot.web.server import WebServer
from bot.web.settings import WebSettings
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import local
from tests.web.conftest import free_port


def start_server(db_url: str, tmp_path: Path, **settings: Any) -> WebServer:
    port = free_port()
    server = WebServer(WebSettings(port=port, public_url=f"http://127.0.0.1:{port}",
                                   photo_dir=tmp_path / "photos", **settings), db_url,
                       Readiness())
    server.start()
    return server


@pytest.fixture
def web(db_url: str, tmp_path: Path) -> Iterator[WebServer]:
    server = start_server(db_url, tmp_path, wall_blocklist=("casino",))
    yield server
    server.stop()


@pytest.fixture
def chat(db: Database, messenger: RecordingMessenger, clock: VirtualClock,
         web: WebServer) -> Chat:
    core = Core(db, {messenger.platform: messenger}, clock, CoreSettings(), wall=web)
    return Chat(core, messenger, clock)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def open_wall(chat: Chat, command: str = "/wall #tweetup073") -> str:
    """alice sets up the chapter, plans Tweetup #73 for tonight and opens its wall: the URL."""
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.dm("alice", "/start")
    await chat.say("alice", f"/newmeetup Tweetup #73; {local(chat, timedelta(hours=3))}; "
                            "Verkadefabriek")
    sent = await chat.say("alice", command)
    match = re.search(r"(http://\S+/w/[\w-]+)", sent[0].text)
    assert match, sent
    return match.group(1)


async def mod_link(chat: Chat) -> re.Match[str]:
    """The moderation page's secret link, from the organiser's DMs (a DM may go out just
    after the group's answer)."""
    for _ in range(50):
        dms = [s.text for s in chat.messenger.dms("alice")]
        found = [m for m in (re.search(r"(http://\S+/mod/\S+)", t) for t in dms) if m]
        if found:
            return found[-1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no moderation link in alice's DMs: {dms}")


class Stream:
    """An open page's live events."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self) -> tuple[str, dict[str, Any]]:
        kind, data = "", ""
        async with asyncio.timeout(5):
            while True:
                line = (await self.response.content.readline()).decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and kind:
                    return kind, json.loads(data)


async def listen(http: aiohttp.ClientSession, url: str) -> Stream:
    response = await http.get(url + "/events")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return Stream(response)


async def test_a_hashtag_post_reaches_the_open_page_and_hide_takes_it_off(
        chat: Chat, http: aiohttp.ClientSession) -> None:
    url = await open_wall(chat)
    assert "#tweetup073" in chat.messenger.group_texts()[-1]
    assert (await mod_link(chat)).group(1).startswith(f"{url}/mod/")
    stream = await listen(http, url)

    assert await chat.say("bob", "#tweetup073 great talk!") == []  # the bot stays quiet
    kind, post = await stream.next()
    assert (kind, post["name"], post["text"]) == ("post", "Bob", "#tweetup073 great talk!")
    async with http.get(url) as page:
        html = await page.text()
    assert "great talk!" in html and "Bob" in html and "<svg" in html
    assert "Post with #tweetup073" in html

    await chat.say("alice", f"/wall hide {post['number']}")
    assert chat.messenger.group_texts()[-1] == f"Post {post['number']} is off the wall."
    assert await stream.next() == ("hide", {"type": "hide", "wall": url.rsplit("/", 1)[1],
                                            "number": post["number"]})
    async with http.get(url) as page:
        assert "great talk!" not in await page.text()


async def test_chatter_and_other_hashtags_stay_off_the_wall(
        chat: Chat, http: aiohttp.ClientSession) -> None:
    url = await open_wall(chat)
    await chat.say("bob", "see you at #tweetup072")
    await chat.say("bob", "no hashtag at all")
    await chat.say("carol", "#TWEETUP073 Casino tonight")  # the blocklist: kept off
    await chat.say("carol", "#Tweetup073 <script>alert(1)</script> & more")
    async with http.get(url) as page:
        html = await page.text()
    assert "#tweetup072" not in html and "no hashtag" not in html and "Casino" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "<script>alert(1)" not in html


async def test_the_default_hashtag_comes_from_the_title_and_a_dm_posts_too(
        chat: Chat, http: aiohttp.ClientSession) -> None:
    url = await open_wall(chat, "/wall")
    assert "#tweetup73" in chat.messenger.group_texts()[-1]
    await chat.dm("dave", "#tweetup73 hello from my phone")
    async with http.get(url) as page:
        assert "hello from my phone" in await page.text()


async def test_a_banned_author_leaves_the_wall(chat: Chat, http: aiohttp.ClientSession) -> None:
    url = await open_wall(chat)
    stream = await listen(http, url)
    await chat.say("bob", "#tweetup073 buy my thing")
    await stream.next()
    await chat.say("alice", "/wall ban bob")
    assert "Bob can't post on the wall any more" in chat.messenger.group_texts()[-1]
    assert (await stream.next())[0] == "hide"
    await chat.say("bob", "#tweetup073 buy it now")
    await chat.say("carol", "#tweetup073 nice venue")
    kind, post = await stream.next()
    assert (kind, post["name"]) == ("post", "Carol")
    async with http.get(url) as page:
        html = await page.text()
    assert "buy" not in html and "nice venue" in html


async def test_approval_first_waits_for_the_moderation_page(
        chat: Chat, http: aiohttp.ClientSession) -> None:
    url = await open_wall(chat)
    mod = await mod_link(chat)
    await chat.say("alice", "/wall approval on")
    stream = await listen(http, url)
    await chat.say("bob", "#tweetup073 waiting")
    async with http.get(url) as page:
        assert "waiting" not in (await page.text()).split("<script>")[0]
    async with http.get(mod.group(1)) as page:
        html = await page.text()
    assert "waiting for approval" in html and "Bob" in html
    async with http.post(mod.group(1) + "/approve/1", allow_redirects=True) as done:
        assert done.status == 200
    kind, post = await stream.next()
    assert (kind, post["text"]) == ("post", "#tweetup073 waiting")
    async with http.get(url) as page:
        assert "#tweetup073 waiting" in await page.text()
    async with http.post(mod.group(1) + "/hide/1") as done:
        assert done.status == 200
    assert (await stream.next())[0] == "hide"


async def test_only_organisers_open_walls_and_unknown_walls_are_404(
        chat: Chat, http: aiohttp.ClientSession, web: WebServer) -> None:
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    assert (await chat.say("bob", "/wall"))[0].text == "Only organisers can do that."
    assert "no meetup to open a wall for" in (await chat.say("alice", "/wall"))[0].text
    assert "No wall is open" in (await chat.say("alice", "/wall hide 1"))[0].text
    for path in ("/w/nope", "/w/nope/events", "/w/nope/p/1.jpg", "/w/nope/mod/x",
                 "/w/" + "x" * 40):
        async with http.get(web.url + path) as response:
            assert response.status == 404, path
    url = await open_wall(chat)
    async with http.get(url + "/mod/wrong-token") as response:
        assert response.status == 404


async def test_closing_the_wall_stops_its_posts(chat: Chat, http: aiohttp.ClientSession) -> None:
    url = await open_wall(chat)
    stream = await listen(http, url)
    await chat.say("alice", "/wall close")
    assert (await stream.next())[0] == "closed"
    await chat.say("bob", "#tweetup073 too late")
    async with http.get(url) as page:
        html = await page.text()
    assert "too late" not in html and "This wall is closed." in html


async def test_open_pages_are_bounded(db_url: str, tmp_path: Path, chat: Chat,
                                      http: aiohttp.ClientSession) -> None:
    server = start_server(db_url, tmp_path, sse_per_wall=2)
    try:
        url = await open_wall(chat)
        path = url.split("/w/", 1)[1]
        streams = [await listen(http, f"{server.url}/w/{path}") for _ in range(2)]
        async with http.get(f"{server.url}/w/{path}/events") as third:
            assert third.status == 503
        assert len(streams) == 2
    finally:
        server.stop()


async def test_check_ins_count_live_on_the_wall(chat: Chat, http: aiohttp.ClientSession) -> None:
    url = await open_wall(chat)
    async with http.get(url) as page:
        assert re.search(r'<span id="here">0</span> here', await page.text())
    stream = await listen(http, url)
    chat.clock.set(chat.clock.now() + timedelta(hours=2, minutes=30))  # check-in is open
    await chat.say("bob", "/checkin")
    await chat.say("carol", "/checkin")
    assert (await stream.next())[1]["n"] == 1
    assert (await stream.next())[1]["n"] == 2
    async with http.get(url) as page:
        html = await page.text()
    assert re.search(r'<span id="here">2</span> here', html)
    assert "Carol" not in html  # a count, no list of who is here


def a_photo() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (2000, 500), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


async def test_a_waiting_photo_is_seen_on_the_moderation_page_only(
        chat: Chat, http: aiohttp.ClientSession) -> None:
    from bot.core.messages import ChatPost

    url = await open_wall(chat)
    mod = await mod_link(chat)
    await chat.say("alice", "/wall approval on")

    async def download() -> bytes:
        return a_photo()

    await chat.core.handle_post(ChatPost(chat.chat, chat.user("bob"), "#tweetup073 look",
                                         message_id="p1", photo=download))
    async with http.get(url + "/p/1.jpg") as response:
        assert response.status == 404  # not approved yet
    async with http.get(mod.group(1)) as page:
        assert f'src="/w/{url.rsplit("/", 1)[1]}/mod/' in await page.text()
    async with http.get(mod.group(1) + "/p/1.jpg") as response:
        assert response.status == 200 and response.content_type == "image/jpeg"
        import io

        from PIL import Image
        assert Image.open(io.BytesIO(await response.read())).size == (1280, 320)
    async with http.post(mod.group(1) + "/approve/1"):
        pass
    async with http.get(url + "/p/1.jpg") as response:
        assert response.status == 200


async def test_a_post_between_the_page_and_its_stream_is_not_lost(
        chat: Chat, http: aiohttp.ClientSession) -> None:
    url = await open_wall(chat)
    await chat.say("bob", "#tweetup073 first")
    async with http.get(url) as page:  # the page shows post 1, its stream not open yet
        assert 'data-number="1"' in await page.text()
    await chat.say("carol", "#tweetup073 in between")
    response = await http.get(url + "/events?after=1")
    kind, post = await Stream(response).next()
    assert (kind, post["number"], post["text"]) == ("post", 2, "#tweetup073 in between")


async def test_an_avatar_waits_with_its_post_and_arrives_live_with_it(
        chat: Chat, http: aiohttp.ClientSession) -> None:
    import io

    from PIL import Image

    from bot.core.messages import ChatPost

    url = await open_wall(chat)
    mod = await mod_link(chat)
    await chat.say("alice", "/wall approval on")
    stream = await listen(http, url)

    async def face() -> bytes | None:
        return a_photo()

    async def broken() -> bytes | None:
        raise OSError("the platform is down")

    await chat.core.handle_post(ChatPost(chat.chat, chat.user("bob"), "#tweetup073 hi",
                                         message_id="a1", avatar=face))
    await chat.core.handle_post(ChatPost(chat.chat, chat.user("carol"), "#tweetup073 hey",
                                         message_id="a2", avatar=broken))
    async with http.get(url + "/a/1.jpg") as response:
        assert response.status == 404  # not approved yet
    async with http.get(mod.group(1) + "/a/1.jpg") as response:
        assert response.status == 200
        with Image.open(io.BytesIO(await response.read())) as small:
            assert max(small.size) == 96 and not small.getexif()
    async with http.post(mod.group(1) + "/approve/1"):
        pass
    kind, post = await stream.next()
    assert (kind, post["name"], post["avatar"]) == ("post", "Bob",
                                                    f"/w/{url.rsplit('/', 1)[1]}/a/1.jpg")
    async with http.post(mod.group(1) + "/approve/2"):
        pass
    kind, post = await stream.next()
    assert (kind, post["name"], post["avatar"]) == ("post", "Carol", None)  # posted without
    async with http.get(url) as page:
        html = await page.text()
    assert html.count('class="avatar"') == 1 and "/a/1.jpg" in html
    await chat.say("alice", "/wall hide 1")
    async with http.get(url + "/a/1.jpg") as response:
        assert response.status == 404
