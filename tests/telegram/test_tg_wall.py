"""What reaches the core for the live wall on Telegram: messages with a "#" (a reply to the
bot in privacy mode, the whole group when the bot is an admin), photos with a hashtag caption
as a post whose photo downloads through getFile, with the author's profile photo
(getUserProfilePhotos) when they have one; chatter without "#" is dropped."""

from __future__ import annotations

from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram.adapter import file_url
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_support import RecordingCore, tg


async def test_a_photo_with_a_hashtag_caption_becomes_a_post(
        fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore) -> None:
    alice = fake.add_user("Alice")
    bob = fake.add_user("Bob", "Jansen")
    group = fake.add_group("SMC Den Bosch", members=[bob], creator=alice)
    await adapter.messenger.send_text(tg(group.id), "The wall is open: #tweetup73")
    wall_message = fake.last(group)

    fake.user_sends_photo(bob, group, b"\xff\xd8 not really a jpeg", "no hashtag here",
                          reply_to=wall_message)
    fake.user_sends_photo(bob, group, b"\xff\xd8 a jpeg", "#tweetup73 the stage",
                          reply_to=wall_message)
    fake.user_sends(bob, group, "#tweetup73 great talk!", reply_to=wall_message)
    await fake.wait_for(lambda: len(core.posts) == 2, what="the photo post and the text")
    post = core.posts[0]
    assert (post.chat, post.sender.display_name, post.text) == (
        tg(group.id), "Bob Jansen", "#tweetup73 the stage")
    assert post.photo is not None and await post.photo() == b"\xff\xd8 a jpeg"
    assert core.posts[1].text == "#tweetup73 great talk!" and core.posts[1].photo is None
    assert core.messages == []


async def test_a_post_brings_its_authors_profile_photo_when_they_have_one(
        fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore) -> None:
    alice = fake.add_user("Alice")
    bob, carol = fake.add_user("Bob"), fake.add_user("Carol")
    group = fake.add_group("SMC Den Bosch", members=[bob, carol], creator=alice)
    fake.set_bot_admin(group)
    fake.user_sets_profile_photo(bob, {160: b"old 160", 640: b"old 640"})
    fake.user_sets_profile_photo(bob, {64: b"new 64", 160: b"new 160", 640: b"new 640"})
    fake.user_sends(bob, group, "#tweetup73 hello")
    fake.user_sends_photo(bob, group, b"\xff\xd8 a jpeg", "#tweetup73 the stage")
    fake.user_sends(carol, group, "#tweetup73 no photo of me")
    await fake.wait_for(lambda: len(core.posts) == 3, what="three posts")
    text, photo, plain = core.posts
    # The newest photo, its smallest size of at least 96 px.
    assert text.avatar is not None and await text.avatar() == b"new 160"
    assert photo.avatar is not None and await photo.avatar() == b"new 160"
    assert plain.avatar is not None and await plain.avatar() is None  # Carol has none
    asked = fake.calls("getUserProfilePhotos")
    assert asked and all(str(r.params.get("limit")) == "1" for r in asked)


async def test_as_an_admin_the_bot_hands_over_hashtags_and_drops_chatter(
        fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore) -> None:
    alice = fake.add_user("Alice")
    group = fake.add_group("SMC Den Bosch", creator=alice)
    fake.set_bot_admin(group)
    fake.user_sends(alice, group, "just chatting")
    fake.user_sends(alice, group, "#tweetup73 from the back row")
    await fake.wait_for(lambda: len(core.posts) == 1, what="the hashtag message")
    assert core.posts[0].text == "#tweetup73 from the back row"
    assert core.messages == []


def test_the_file_address_follows_the_api_address() -> None:
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
