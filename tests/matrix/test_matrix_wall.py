"""The live wall on Matrix, on a real Synapse and in a real headless Chromium: an organiser
opens it with !wall, a member's room message carrying the hashtag appears on the open page
without a reload, chatter and other hashtags don't, and !wall hide takes it off."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from nio import ProfileSetAvatarResponse, UploadResponse
from nio.crypto.attachments import encrypt_attachment
from PIL import Image

from bot.adapters.matrix.calls import call
from bot.readiness import Readiness
from bot.web.server import WebServer
from bot.web.settings import WebSettings
from tests.browser import browser, wait_in_browser  # noqa: F401  (the fixture)
from tests.matrix.conftest import START, MakeBot, MakeCryptoMember, MakeMember, RealCore
from tests.matrix.mx_helpers import room_with_bot
from tests.matrix.mx_process import command as mx_command
from tests.matrix.test_matrix_encrypted import ask, encrypted_room_with_bot
from tests.web.conftest import free_port

TZ = ZoneInfo("Europe/Amsterdam")


def post_texts(driver: Any) -> list[str]:
    return [str(t) for t in driver.execute_script(
        "return [...document.querySelectorAll('#posts .post .text')].map(e => e.textContent)")]


async def open_wall(command: Callable[[str, str], Awaitable[dict[str, Any]]]) -> str:
    """The chapter set up, Tweetup #73 in two hours, and its wall opened by an organiser's
    `command` (her message, and the answer that must contain some text); the wall's URL."""
    await command("!setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en", "SMC Den Bosch")
    when = (START + timedelta(hours=2)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    await command(f"!newmeetup Tweetup #73; {when}; Verkadefabriek", "Tweetup #73")
    opened = await command("!wall #tweetup073", "/w/")
    match = re.search(r"(http://\S+/w/[\w-]+)", opened["content"]["body"])
    assert match, opened
    return match.group(1)


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

        async def command(text: str, expect: str) -> dict[str, Any]:
            return await mx_command(alice, room, bot.user_id, text, expect)

        url = await open_wall(command)
        await asyncio.to_thread(browser.get, url)
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


def picture(color: str, side: int = 400) -> bytes:
    """A JPEG with an EXIF comment (what the wall must strip)."""
    img = Image.new("RGB", (side, side), color)
    exif = Image.Exif()
    exif[0x010E] = "secret place"  # ImageDescription
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def upload(member: Any, data: bytes, name: str) -> str:
    resp, _keys = await member.client.upload(lambda *_a: io.BytesIO(data), "image/jpeg", name,
                                             filesize=len(data))
    assert isinstance(resp, UploadResponse), resp
    return str(resp.content_uri)


async def test_the_wall_shows_a_members_avatar_and_their_room_photo(
        make_bot: MakeBot, make_member: MakeMember, real_core: RealCore,
        tmp_path: Path) -> None:
    port = free_port()
    web = WebServer(WebSettings(port=port, public_url=f"http://127.0.0.1:{port}",
                                photo_dir=tmp_path / "photos"), real_core.db.url, Readiness())
    real_core.wall = web
    web.start()
    try:
        bot = await make_bot(core_factory=real_core)
        alice, bob, carol = (await make_member("alice"), await make_member("bob"),
                             await make_member("carol"))
        # Bob set a red avatar in his app; Carol has none.
        resp = await bob.client.set_avatar(await upload(bob, picture("red"), "bob.jpg"))
        assert isinstance(resp, ProfileSetAvatarResponse), resp
        room = await room_with_bot(alice, bot.user_id, bob, carol)

        async def command(text: str, expect: str) -> dict[str, Any]:
            return await mx_command(alice, room, bot.user_id, text, expect)

        url = await open_wall(command)

        await bob.say(room, "#tweetup073 hello with my face")
        await carol.say(room, "#tweetup073 no face here")
        # Bob's photo with the hashtag in its caption; Carol's picture without one isn't taken.
        blue = await upload(bob, picture("blue", 2000), "stage.jpg")
        await call("image", lambda: bob.client.room_send(room, "m.room.message", {
            "msgtype": "m.image", "body": "the stage #tweetup073", "url": blue,
            "info": {"mimetype": "image/jpeg", "w": 2000, "h": 2000}}))
        green = await upload(carol, picture("green"), "cat.jpg")
        await call("image", lambda: carol.client.room_send(room, "m.room.message", {
            "msgtype": "m.image", "body": "cat.jpg", "url": green,
            "info": {"mimetype": "image/jpeg"}}))
        await carol.say(room, "#tweetup073 last one")

        async with aiohttp.ClientSession() as http:
            async def page() -> str:
                async with http.get(url) as r:
                    assert r.status == 200
                    return await r.text()

            for _ in range(100):
                html = await page()
                if "last one" in html:
                    break
                await asyncio.sleep(0.2)
            assert "last one" in html, html
            posts = re.findall(r'<li class="post" data-number="(\d+)">(.*?)</li>', html, re.S)
            by_number = {int(n): body for n, body in posts}
            assert sorted(by_number) == [1, 2, 3, 4], by_number
            assert "hello with my face" in by_number[1]
            assert f'<img class="avatar" src="/w/{url.rsplit("/", 1)[1]}/a/1.jpg"' in by_number[1]
            assert "avatar" not in by_number[2]  # Carol has none
            assert "the stage #tweetup073" in by_number[3]
            assert "/p/3.jpg" in by_number[3] and "/a/3.jpg" in by_number[3]
            assert "/p/" not in by_number[4] and "cat.jpg" not in html

            async with http.get(f"{url}/a/1.jpg") as r:
                assert r.status == 200 and r.content_type == "image/jpeg"
                face = Image.open(io.BytesIO(await r.read()))
            assert max(face.size) <= 96
            red, green_, blue_ = face.convert("RGB").getpixel((face.width // 2, face.height // 2))
            assert red > 200 and green_ < 60 and blue_ < 60
            assert not face.getexif()
            async with http.get(f"{url}/a/2.jpg") as r:
                assert r.status == 404

            async with http.get(f"{url}/p/3.jpg") as r:
                assert r.status == 200
                photo = Image.open(io.BytesIO(await r.read()))
            assert max(photo.size) == 1280
            red, green_, blue_ = photo.convert("RGB").getpixel((640, 640))
            assert blue_ > 200 and red < 60
            assert not photo.getexif()

        await command("!wall hide 1", "off the wall")
        async with aiohttp.ClientSession() as http, http.get(f"{url}/a/1.jpg") as r:
            assert r.status == 404  # a hidden post's avatar is gone with it
    finally:
        web.stop()


async def test_a_photo_in_an_encrypted_room_is_decrypted_onto_the_wall(
        make_bot: MakeBot, make_crypto_member: MakeCryptoMember, real_core: RealCore,
        tmp_path: Path) -> None:
    port = free_port()
    web = WebServer(WebSettings(port=port, public_url=f"http://127.0.0.1:{port}",
                                photo_dir=tmp_path / "photos"), real_core.db.url, Readiness())
    real_core.wall = web
    web.start()
    try:
        bot = await make_bot(core_factory=real_core, store_dir=str(tmp_path / "bot-store"))
        alice, bob = await make_crypto_member("alice"), await make_crypto_member("bob")
        room = await encrypted_room_with_bot(alice, bot.user_id, bob)
        url = await open_wall(lambda text, expect: ask(alice, room, bot.user_id, text, expect))

        # As Element sends a picture in an encrypted room: the file encrypted, its key in
        # the (itself encrypted) event.
        ciphertext, keys = encrypt_attachment(picture("blue", 1600))
        resp, _ = await bob.client.upload(lambda *_a: io.BytesIO(ciphertext),
                                          "application/octet-stream", "stage.jpg",
                                          filesize=len(ciphertext))
        assert isinstance(resp, UploadResponse), resp
        await bob.send_event(room, "m.room.message", {
            "msgtype": "m.image", "body": "the stage #tweetup073",
            "info": {"mimetype": "image/jpeg"},
            "file": {"url": resp.content_uri, "key": keys["key"], "iv": keys["iv"],
                     "hashes": keys["hashes"], "v": "v2", "mimetype": "image/jpeg"}})

        async with aiohttp.ClientSession() as http:
            for _ in range(150):
                async with http.get(f"{url}/p/1.jpg") as r:
                    if r.status == 200:
                        photo = Image.open(io.BytesIO(await r.read()))
                        break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the photo never reached the wall")
            async with http.get(url) as r:
                assert "the stage #tweetup073" in await r.text()
        assert max(photo.size) == 1280 and not photo.getexif()
        red, _green, blue = photo.convert("RGB").getpixel((600, 600))
        assert blue > 200 and red < 60
    finally:
        web.stop()
