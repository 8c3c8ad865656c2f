"""Who organises a chapter: /link by DM, /unlink heard everywhere, /organisers, co-organisers,
rights that end with a chat's admin status, and "really?" before destructive commands."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select, text

from bot.core.app import Core
from bot.core.messages import UserRef
from bot.core.settings import CoreSettings
from bot.db.models import ChatBinding, Membership, OrganiserReason
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger, Sent
from tests.helpers import local, snapshot

CODE = re.compile(r"/link ([0-9A-F]{12})")


class TelegramLike(RecordingMessenger):
    """Like Telegram: a bot can't write first, and says so with a link."""

    def start_hint(self, user: UserRef) -> str:
        return "https://t.me/irlbot?start=hi"


def two_platforms(db: Database, clock, settings: CoreSettings | None = None
                  ) -> tuple[Chat, Chat, RecordingMessenger, RecordingMessenger]:
    tg, mx = TelegramLike(platform="telegram"), RecordingMessenger(platform="matrix")
    core = Core(db, {"telegram": tg, "matrix": mx}, clock, settings or CoreSettings())
    group = Chat(core, tg, clock, chat_id="-100", admins=["alice", "amy"])
    room = Chat(core, mx, clock, chat_id="!room:localhost", admins=["mia"])
    return group, room, tg, mx


async def linked(group: Chat, room: Chat) -> None:
    """The chapter lives in the Telegram group; alice links the Matrix room through mia."""
    await group.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await group.dm("alice", "/start")
    await room.say("mia", f"/link {await code_for(group, 'alice')}")


async def code_for(group: Chat, name: str) -> str:
    out = await group.say(name, "/link")
    dms = [s for s in out if s.kind == "dm" and s.to == name]
    assert len(dms) == 1, out
    match = CODE.search(dms[0].text)
    assert match is not None
    return match.group(1)


def texts(out: list[Sent]) -> list[str]:
    return [s.text for s in out]


async def bindings(db: Database) -> list[tuple[int, str, str]]:
    async with db.transaction() as s:
        rows = await s.scalars(select(ChatBinding).order_by(ChatBinding.id))
        return [(b.chapter_id, b.platform, b.chat_id) for b in rows]


# --- linking ---------------------------------------------------------------------------------

async def test_the_code_goes_by_dm_and_links_a_matrix_room_through_its_admin(db, clock) -> None:
    group, room, tg, _mx = two_platforms(db, clock)
    await group.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await group.dm("alice", "/start")
    out = await group.say("alice", "/link")
    assert [s.kind for s in out] == ["text", "dm"]
    assert out[0].to == "-100" and "sent you a link code in a private chat" in out[0].text
    code = CODE.search(out[1].text)
    assert code is not None and out[1].to == "alice"
    assert not any(code.group(1) in t for t in tg.group_texts("-100"))  # never in the group

    # Alice hands the code to Mia, the admin of the Matrix room: both chats hear it.
    tg.take()
    out = await room.say("mia", f"/link {code.group(1)}")
    linked_line = "the Matrix room !room:localhost is now part of SMC Den Bosch, linked by Mia"
    assert [linked_line in t for t in texts(out)] == [True]
    assert [linked_line in t for t in tg.group_texts("-100")] == [True]

    # Mia organises in her room, as its admin; she is no organiser of the whole chapter.
    listing = (await group.say("bob", "/organisers"))[0].text
    assert "• Alice: set up the chapter; admin of the Telegram group -100" in listing
    assert "• Mia: admin of the Matrix room !room:localhost" in listing
    assert ("Chats of the chapter:\n1. the Telegram group -100 (this one)\n"
            "2. the Matrix room !room:localhost") in listing
    out = await room.say("mia", f"/newmeetup Borrel; {local(room, timedelta(days=3))}")
    assert "Borrel" in out[0].text
    assert texts(await group.say("mia", "/cancel")) == ["Only organisers can do that."]


async def test_an_organiser_who_never_started_the_bot_gets_the_start_hint_and_no_code(
        db, clock) -> None:
    group, _room, _tg, _mx = two_platforms(db, clock)
    await group.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    before = await snapshot(db)
    out = await group.say("alice", "/link")
    assert texts(out) == ["Alice, I send link codes by private message, and I can't write to "
                          "you yet. Tap https://t.me/irlbot?start=hi, press Start, then send "
                          "/link here again."]
    assert await snapshot(db) == before  # no code was made
    await group.dm("alice", "/start")
    assert len(await code_for(group, "alice")) == 12


async def test_a_plain_member_who_read_everything_gets_no_code_and_binds_nothing(
        db, clock) -> None:
    # The limit of 10 commands a minute would stop her sooner; off, so she tries every word.
    group, room, tg, mx = two_platforms(db, clock, CoreSettings(commands_per_minute=0))
    eves_group = Chat(group.core, tg, clock, chat_id="-666", admins=["eve"])
    await linked(group, room)
    await group.say("alice", f"/newmeetup Borrel; {local(group, timedelta(days=3))}")
    await group.say("alice", "/link")  # a fresh code, waiting for a chat

    # Eve is in the group and reads every word the bot posted there.
    assert texts(await group.say("eve", "/link")) == ["Only organisers can do that."]
    seen = {word for text in tg.group_texts("-100") + mx.group_texts("!room:localhost")
            for word in re.findall(r"\w{6,}", text)}
    before = await bindings(db)
    for word in sorted(seen):
        out = await eves_group.say("eve", f"/link {word}")
        assert texts(out) == ["That link code is unknown or has expired. Ask an organiser for a "
                              "new one: /link in the chapter's chat."]
    assert await bindings(db) == before
    assert tg.dms("eve") == [] and not any(s.kind == "dm" and s.to != "alice" for s in tg.sent)
    assert texts(await eves_group.say("eve", "/newmeetup Mine; tomorrow 19:00"))[0].startswith(
        "This chat is not a chapter yet")
    # Nor does she become anything in the chapter by trying.
    assert "Eve" not in (await group.say("eve", "/organisers"))[0].text


async def test_a_code_works_once_for_ten_minutes_and_only_for_an_admin(db, clock) -> None:
    group, room, tg, _mx = two_platforms(db, clock)
    third = Chat(group.core, tg, clock, chat_id="-300", admins=["zoe"])
    await group.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await group.dm("alice", "/start")
    unknown = ["That link code is unknown or has expired. Ask an organiser for a new one: /link "
               "in the chapter's chat."]

    code = await code_for(group, "alice")
    await group.advance(timedelta(minutes=10, seconds=1))
    assert texts(await room.say("mia", f"/link {code}")) == unknown  # expired

    code = await code_for(group, "alice")
    # Bob, no admin of the room, types it there: refused, and the code is used up, since the
    # room's members have seen it.
    assert texts(await room.say("bob", f"/link {code}")) == [
        "Only the group's admins can link it to a chapter. That code no longer works; the "
        "organiser can ask for a new one with /link."]
    assert texts(await room.say("mia", f"/link {code}")) == unknown

    code = await code_for(group, "alice")
    out = await room.say("mia", f"/link {code.lower()}")
    assert "is now part of SMC Den Bosch" in out[0].text
    assert texts(await third.say("zoe", f"/link {code}")) == unknown  # used once
    assert texts(await room.say("mia", f"/link {code}")) == [
        "This chat already belongs to the chapter SMC Den Bosch."]
    assert [b[1:] for b in await bindings(db)] == [("telegram", "-100"),
                                                   ("matrix", "!room:localhost")]


async def test_an_admin_of_a_linked_chat_cannot_take_the_chapter_over(db, clock) -> None:
    group, room, _tg, _mx = two_platforms(db, clock)
    await linked(group, room)
    before = await snapshot(db)
    out = await room.say("mia", "/setup Mia's Club; Utrecht; Europe/Amsterdam; nl")
    assert texts(out) == ["This chat belongs to the chapter SMC Den Bosch. Only its organisers "
                          "(see /organisers) or the admins of the chat where it was set up can "
                          "change it."]
    assert await snapshot(db) == before
    # Amy, another admin of the chapter's first chat, may; so does Alice, who set it up.
    assert "now the chapter SMC" in (await group.say(
        "amy", "/setup SMC 's-Hertogenbosch; Den Bosch; Europe/Amsterdam; en"))[0].text
    listing = (await group.say("bob", "/organisers"))[0].text
    assert "Amy: admin of the Telegram group -100" in listing  # not "set up the chapter"


async def test_rights_from_a_chat_end_when_its_admin_status_goes(db, clock) -> None:
    group, room, _tg, _mx = two_platforms(db, clock)
    await linked(group, room)
    when = local(room, timedelta(days=3))
    assert "Borrel" in (await room.say("mia", f"/newmeetup Borrel; {when}"))[0].text
    room.admins.discard("mia")  # the room's moderators took her power level away
    assert texts(await room.say("mia", "/cancel")) == ["Only organisers can do that."]
    assert texts(await room.say("mia", "/link")) == ["Only organisers can do that."]
    # /organisers names admins as last seen: her next command that goes through updates it.
    assert "Mia: admin of the Matrix room" in (await group.say("alice", "/organisers"))[0].text
    await room.say("mia", "/who")
    listing = (await group.say("alice", "/organisers"))[0].text
    assert "Mia" not in listing and "Alice: set up the chapter" in listing
    # So do Alice's, as far as they came from the group; setting it up keeps her an organiser.
    group.admins.discard("alice")
    assert "Borrel" in (await group.say("alice", "/who"))[0].text
    out = await group.say("alice", "/cancel")
    assert "Cancel Borrel?" in out[0].text


# --- co-organisers ---------------------------------------------------------------------------

async def test_organisers_add_and_remove_co_organisers(db, clock) -> None:
    group, room, tg, mx = two_platforms(db, clock)
    await linked(group, room)
    await group.say("bob", "/help")
    assert texts(await group.say("bob", "/organisers add Bob")) == ["Only organisers can do that."]
    assert texts(await group.say("alice", "/organisers add Nobody")) == [
        "I don't know Nobody in this chapter. They need to have sent me a command in one of "
        "its chats first."]

    await room.say("mia", "/organisers add bob")  # an organiser in her room may name one
    assert tg.group_texts("-100")[-1] == mx.group_texts("!room:localhost")[-1] == (
        "Bob is now an organiser of SMC Den Bosch, added by Mia.")
    assert "• Bob: added by Mia" in (await group.say("carol", "/organisers"))[0].text
    out = await group.say("bob", f"/newmeetup Borrel; {local(group, timedelta(days=3))}")
    assert "Borrel" in out[0].text  # Bob is no admin anywhere, and organises everywhere

    assert texts(await group.say("alice", "/organisers remove Mia")) == [
        "Mia is not a named organiser of this chapter. Admins of a chat organise there for as "
        "long as they are its admins."]
    out = await group.say("alice", "/organisers remove @bob")
    assert texts(out) == ["Bob is no longer an organiser of SMC Den Bosch (removed by Alice)."]
    assert texts(await group.say("bob", "/cancel")) == ["Only organisers can do that."]
    assert "Bob" not in (await group.say("carol", "/organisers"))[0].text


# --- /unlink ---------------------------------------------------------------------------------

async def test_unlink_asks_first_and_every_chat_hears_it(db, clock) -> None:
    group, room, tg, mx = two_platforms(db, clock)
    third = Chat(group.core, mx, clock, chat_id="!third:localhost", admins=["zoe"])
    await linked(group, room)
    await third.say("zoe", f"/link {await code_for(group, 'alice')}")

    # Mia, admin of the room only, can unlink her room, not another chat.
    assert texts(await room.say("mia", "/unlink 1")) == [
        "Only the chapter's named organisers (see /organisers) can unlink another chat; that "
        "chat's admins can unlink it there."]
    assert texts(await room.say("bob", "/unlink")) == ["Only organisers can do that."]

    out = await group.say("alice", "/unlink 2")
    assert len(out) == 1 and out[0].text == (
        "Unlink the Matrix room !room:localhost from SMC Den Bosch? It gets no more polls, "
        "announcements or reminders.\nTo go ahead, tap the button or send /unlink 2 yes within "
        "a minute.")
    assert [b.label for b in out[0].buttons] == ["/unlink 2 yes"]
    assert len(await bindings(db)) == 3  # not yet
    tg.take(), mx.take()
    await group.say("alice", "/unlink 2 yes")
    heard = "✂️ the Matrix room !room:localhost is no longer part of SMC Den Bosch (unlinked by Alice)."
    assert tg.group_texts("-100") == [heard]
    assert mx.group_texts("!room:localhost") == [heard]
    assert mx.group_texts("!third:localhost") == [heard]
    assert texts(await room.say("mia", "/who"))[0].startswith("This chat is not a chapter yet")

    # Zoe unlinks her own room with the button.
    out = await third.say("zoe", "/unlink")
    assert (await third.press("bob", out[0].buttons[0].payload)).text == (
        "Only the person who asked can confirm this.")
    reply = await third.press("zoe", out[0].buttons[0].payload)
    assert reply.accepted and reply.text == "Done."
    assert tg.group_texts("-100")[-1].startswith("✂️ the Matrix room !third:localhost")
    assert texts(await group.say("alice", "/unlink")) == [
        "This is the chapter's only chat, so it can't be unlinked."]
    assert await bindings(db) == [(1, "telegram", "-100")]


# --- confirmations ---------------------------------------------------------------------------

async def test_cancel_asks_first_and_takes_yes_within_a_minute(chat: Chat, db) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
    await chat.say("bob", "/rsvp yes")

    before = await snapshot(db)
    assert texts(await chat.say("alice", "/cancel yes")) == [
        "There is nothing to confirm. Send /cancel first; then /cancel yes within a minute."]
    assert await snapshot(db) == before

    # A tapped "/cancel@irlbot" (say, in someone's intro) only asks.
    out = await chat.say("alice", "/cancel@irlbot")
    assert texts(out) == ["Cancel Borrel? Everyone who answered hears it by private message.\n"
                          "To go ahead, tap the button or send /cancel yes within a minute."]
    assert "Borrel" in (await chat.say("bob", "/meetups"))[0].text
    await chat.advance(timedelta(seconds=61))
    assert texts(await chat.say("alice", "/cancel yes"))[0].startswith(
        "There is nothing to confirm.")

    await chat.say("alice", "/cancel")
    await chat.advance(timedelta(seconds=30))
    out = await chat.say("alice", "/cancel yes")
    assert "❌ Borrel is cancelled." in texts(out)
    assert texts(await chat.say("alice", "/cancel yes")) == [
        "There is no upcoming meetup to cancel."]


async def test_cancel_by_the_button_only_for_whoever_asked(chat: Chat, db) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; nl")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=3))}")
    out = await chat.say("alice", "/cancel")
    assert out[0].text.endswith("stuur binnen een minuut /cancel ja.")
    payload = out[0].buttons[0].payload
    assert not (await chat.press("bob", payload)).accepted
    chat.admins.add("bob")  # even another organiser: it is Alice's question
    assert (await chat.press("bob", "confirm:forged")).text == (
        "Die vraag is verlopen. Stuur de opdracht opnieuw.")
    assert (await chat.press("alice", payload)).accepted
    assert any("Borrel gaat niet door" in t for t in chat.messenger.group_texts())
    assert not (await chat.press("alice", payload)).accepted  # used up


async def test_recurring_off_asks_first(chat: Chat) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", "/recurring first thursday 19:30")
    out = await chat.say("alice", "/recurring off")
    assert texts(out)[0].startswith("Stop the recurring meetups of SMC?")
    assert "/recurring off yes" in texts(out)[0]
    assert "FREQ" not in (await chat.say("alice", "/recurring"))[0].text  # still on: a summary
    out = await chat.say("alice", "/recurring off yes")
    assert texts(out)[0].startswith("Recurring meetups are off.")


async def test_the_migration_keeps_who_set_a_chapter_up_and_drops_what_link_gave(
        db_url: str) -> None:
    database = Database(db_url)
    try:
        await database.migrate("9e4a1c7b2d55")
        t0 = datetime(2026, 11, 1, 12)  # naive UTC, as the columns store it
        async with database.transaction() as s:
            await s.execute(text(
                "INSERT INTO chapters (id, name, city, timezone, language, created_at) VALUES "
                "(1, 'SMC', 'Den Bosch', 'Europe/Amsterdam', 'en', :t)"), {"t": t0})
            for pid, name in ((1, "Alice"), (2, "Mia"), (3, "Bob")):
                await s.execute(text("INSERT INTO people (id, display_name, created_at) "
                                     "VALUES (:id, :name, :t)"), {"id": pid, "name": name, "t": t0})
            for mid, pid, flag, joined in ((1, 1, True, t0), (2, 2, True, t0 + timedelta(days=1)),
                                           (3, 3, False, t0 - timedelta(days=2))):
                await s.execute(text(
                    "INSERT INTO memberships (id, chapter_id, person_id, is_organiser, joined_at) "
                    "VALUES (:id, 1, :pid, :flag, :joined)"),
                    {"id": mid, "pid": pid, "flag": flag, "joined": joined})
        await database.migrate()
        async with database.transaction() as s:
            rows = (await s.execute(select(Membership.person_id, Membership.is_organiser,
                                           Membership.organiser_reason)
                                    .order_by(Membership.person_id))).all()
        assert [tuple(r) for r in rows] == [(1, True, OrganiserReason.SETUP), (2, False, None),
                                            (3, False, None)]
    finally:
        await database.dispose()
