"""One person, several accounts: bob is on Telegram and on Matrix in a chapter linked across
both; /whoami joins his accounts, so he counts once, and /whoami unlink separates them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.core.accounts import CODE_ALPHABET, CODE_LENGTH
from bot.core.app import Core
from bot.core.joining import PERSON_COLUMNS
from bot.core.rules import Answer, keeps_first
from bot.core.settings import CoreSettings
from bot.db.models import (
    Base,
    CalendarSent,
    Chapter,
    ChatAdmin,
    ChatBinding,
    Confirmation,
    DmHint,
    Follow,
    Identity,
    Interest,
    Meetup,
    Membership,
    Person,
    Reminder,
    ReminderStatus,
    Vote,
)
from bot.db.session import Database
from tests.fakes import Chat, RecordingMessenger
from tests.helpers import local, snapshot


@dataclass
class Linked:
    db: Database
    tg: RecordingMessenger
    mx: RecordingMessenger
    group: Chat  # the Telegram group
    room: Chat  # the Matrix room, linked to the same chapter

    async def count(self, model: type[Base], **where: object) -> int:
        async with self.db.transaction() as s:
            query = select(func.count()).select_from(model)
            for column, value in where.items():
                query = query.where(getattr(model, column) == value)
            return int(await s.scalar(query) or 0)


@pytest.fixture
async def linked(db: Database, clock) -> Linked:
    tg, mx = RecordingMessenger(platform="telegram"), RecordingMessenger(platform="matrix")
    core = Core(db, {"telegram": tg, "matrix": mx}, clock, CoreSettings())
    group = Chat(core, tg, clock, chat_id="-100", admins=["alice"])
    room = Chat(core, mx, clock, chat_id="!room:localhost", admins=["mia"])
    await group.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await group.dm("alice", "/start")
    await group.say("alice", "/link")
    await room.say("mia", tg.dms("alice")[-1].text.splitlines()[1])
    return Linked(db, tg, mx, group, room)


def code_in(text: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith("/whoami ")]
    return line


async def join_bob(linked: Linked) -> str:
    """bob asks for a code on Telegram and sends it from Matrix; returns the bot's answer."""
    (shown,) = await linked.group.dm("bob", "/whoami")
    answer, *_caused = await linked.room.dm("bob", code_in(shown.text))
    return answer.text


async def test_whoami_shows_your_accounts_and_a_code_to_type(linked: Linked) -> None:
    (answer,) = await linked.group.dm("bob", "/whoami")
    assert answer.text.startswith("I know you as:\n• Telegram: Bob (bob)\n")
    code = code_in(answer.text).removeprefix("/whoami ")
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    (again,) = await linked.group.dm("bob", "/whoami")
    assert code_in(again.text) != code_in(answer.text)
    (old,) = await linked.room.dm("bob", f"/whoami {code}")  # only the newest code works
    assert old.text.startswith("That code is unknown, used or expired.")


async def test_whoami_in_a_group_says_to_use_a_private_chat(linked: Linked) -> None:
    await linked.group.say("bob", "/help")
    before = await snapshot(linked.db)
    (answer,) = await linked.group.say("bob", "/whoami")
    assert answer.text == "Send this to me in a private chat."
    assert await snapshot(linked.db) == before


async def test_joined_accounts_take_one_seat_and_give_it_to_the_waitlist(linked: Linked) -> None:
    group, room = linked.group, linked.room
    await group.say("alice", f"/newmeetup Borrel; {local(group, timedelta(days=5))}; max 2")
    await group.dm("bob", "/start")
    await room.dm("bob", "/start")
    await room.dm("carol", "/start")
    await group.say("bob", "/rsvp yes")
    await room.say("bob", "/rsvp yes")
    (waiting,) = await room.say("carol", "/rsvp yes")
    assert "waitlist, position 1" in waiting.text
    assert "Going (2/2)" in (await group.say("alice", "/who"))[0].text

    answer = await join_bob(linked)
    assert "• Telegram: Bob (bob)\n• Matrix: Bob (bob)" in answer
    assert "Borrel: both accounts had answered (yes and yes); I kept yes." in answer
    assert any("a seat opened up" in dm.text for dm in linked.mx.dms("carol"))
    who = (await group.say("alice", "/who"))[0].text
    assert "Going (2/2):\n• Bob\n• Carol" in who
    assert await linked.count(Reminder, status=ReminderStatus.PENDING, kind="person") == 4  # 2 each

    await group.advance(timedelta(days=5))
    reminders = [dm for m in (linked.tg, linked.mx) for dm in m.dms("bob")
                 if dm.text.startswith("Reminder: Borrel")]
    assert len(reminders) == 2  # one a day before, one 2 hours before: not four


@pytest.mark.parametrize(("on_telegram", "on_matrix", "kept"), [
    ("maybe", "no", "maybe"), ("no", "yes", "yes"), ("maybe", "yes", "yes")])
async def test_the_stronger_answer_stays_and_the_reply_says_so(
        linked: Linked, on_telegram: str, on_matrix: str, kept: str) -> None:
    group, room = linked.group, linked.room
    await group.say("alice", f"/newmeetup Borrel; {local(group, timedelta(days=5))}")
    await group.say("bob", f"/rsvp {on_telegram}")
    await room.say("bob", f"/rsvp {on_matrix}")
    answer = await join_bob(linked)
    assert (f"Borrel: both accounts had answered ({kept} and "
            f"{on_matrix if kept == on_telegram else on_telegram}); I kept {kept}.") in answer
    who = (await group.say("alice", "/who"))[0].text
    assert who.count("Bob") == (0 if kept == "no" else 1)
    if kept == "yes":
        assert "Going (1):\n• Bob" in who


def test_which_answer_is_stronger() -> None:
    yes, wait, maybe, no = (Answer("yes", 0, None), Answer("waitlist", 0, 5),
                            Answer("maybe", 0, None), Answer("no", 0, None))
    order = [yes, wait, maybe, no]
    for i, first in enumerate(order):
        for second in order[i + 1:]:
            assert keeps_first(first, second) and not keeps_first(second, first)
    assert not keeps_first(yes, Answer("yes", 2, None))  # the bigger party keeps its seats
    assert keeps_first(Answer("waitlist", 0, 3), wait)  # the earlier place
    assert keeps_first(maybe, Answer("maybe", 0, None))  # a tie keeps the code's person's


async def test_in_a_poll_both_voted_in_the_later_votes_stay(linked: Linked) -> None:
    group, room = linked.group, linked.room
    d1, d2 = local(group, timedelta(days=5)), local(group, timedelta(days=6))
    await group.say("alice", f"/newmeetup Borrel; {d1} | {d2}")
    await group.say("bob", "/vote 1 2")
    await group.advance(timedelta(minutes=5))
    await room.say("bob", "/vote 2")
    answer = await join_bob(linked)
    assert "both accounts had voted; I kept the later votes: " in answer
    kept = answer.split("I kept the later votes: ")[1].splitlines()[0]
    poll = next(s for s in linked.tg.sent if s.kind == "poll")
    assert kept == poll.options[1] + "."  # Matrix's one vote, not Telegram's two
    async with linked.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Vote)) == 1


async def test_an_organiser_on_one_account_organises_on_both(linked: Linked) -> None:
    room = linked.room
    await room.say("alice", "/help")
    assert (await room.say("alice", "/cancel"))[0].text == "Only organisers can do that."
    (shown,) = await room.dm("alice", "/whoami")  # her Matrix account asks
    (answer,) = await linked.group.dm("alice", code_in(shown.text))  # Telegram, the organiser
    assert answer.text.startswith("Done:")
    out = await room.say("alice", f"/newmeetup Borrel; {local(room, timedelta(days=5))}")
    assert any("Borrel" in s.text for s in out)
    assert "Only organisers" not in " ".join(s.text for s in out)


async def test_settings_stay_with_the_code_unless_it_has_none(linked: Linked) -> None:
    group, room = linked.group, linked.room
    await group.dm("bob", "/language nl")
    await group.dm("bob", "/intro Podcasts")
    await room.dm("bob", "/intro Maps")
    (shown,) = await room.dm("bob", "/whoami")  # Matrix asks: its intro stays, its language
    (answer,) = await group.dm("bob", code_in(shown.text))  # is empty, so Telegram's counts
    assert answer.text.startswith("Klaar:")
    assert "Maps" in (await room.dm("bob", "/intro"))[0].text
    assert (await room.dm("bob", "/help"))[0].text.startswith("Dit kan ik:")


async def test_one_interest_and_one_dm_for_the_next_meetup(linked: Linked) -> None:
    group, room = linked.group, linked.room
    await group.dm("bob", "/start")
    await room.dm("bob", "/start")
    await group.say("bob", "/next")
    await room.say("bob", "/next")
    await join_bob(linked)
    assert await linked.count(Interest) == 1
    await group.say("alice", f"/newmeetup Borrel; {local(group, timedelta(days=5))}")
    told = [dm for m in (linked.tg, linked.mx) for dm in m.dms("bob")
            if "announced its next meetup" in dm.text]
    assert len(told) == 1


async def bob_says_yes_in(linked: Linked, chat: Chat) -> None:
    """A meetup in five days; bob, who opened both private chats and joined his accounts (the
    code typed on Matrix), says yes in `chat` two minutes later; then his day-before reminder."""
    group, room = linked.group, linked.room
    await group.say("alice", f"/newmeetup Borrel; {local(group, timedelta(days=5))}")
    await group.dm("bob", "/start")
    await room.dm("bob", "/start")
    await join_bob(linked)
    await group.advance(timedelta(minutes=2))
    await chat.say("bob", "/rsvp yes")
    await group.advance(timedelta(days=4))


async def test_reminders_go_where_you_last_spoke_or_where_you_chose(linked: Linked) -> None:
    group, room = linked.group, linked.room
    await bob_says_yes_in(linked, room)  # bob spoke last on Matrix
    assert [d.text[:16] for d in linked.mx.dms("bob")][-1] == "Reminder: Borrel"
    assert not any(d.text.startswith("Reminder") for d in linked.tg.dms("bob"))

    (answer,) = await room.dm("bob", "/remindvia telegram")
    assert answer.text == "Reminders go to Telegram from now on."
    await group.advance(timedelta(hours=23))
    assert linked.tg.dms("bob")[-1].text.startswith("Reminder: Borrel starts in 2 hours")
    assert (await room.dm("bob", "/remindvia signal"))[0].text.startswith("Write it like")


async def test_reminders_go_where_you_spoke_last_after_joining_accounts(linked: Linked) -> None:
    """Joined on Matrix (the code typed there), then bob answers on Telegram: that is where
    he spoke last, so his reminder goes there."""
    await bob_says_yes_in(linked, linked.group)
    assert [d.text[:16] for d in linked.tg.dms("bob")][-1] == "Reminder: Borrel"
    assert not any(d.text.startswith("Reminder") for d in linked.mx.dms("bob"))


async def test_remindvia_needs_an_account_there(linked: Linked) -> None:
    (answer,) = await linked.group.dm("bob", "/remindvia matrix")
    assert answer.text == ("I know no account of yours on Matrix. Join it to this one with "
                           "/whoami first.")


async def test_bad_codes_are_refused_and_change_nothing(linked: Linked) -> None:
    group, room = linked.group, linked.room
    (shown,) = await group.dm("bob", "/whoami")
    code = code_in(shown.text)
    await room.dm("bob", "/start")
    await group.dm("bobby", "/start")  # bob's second Telegram account
    before = await snapshot(linked.db)
    assert (await room.dm("bob", "/whoami NOPE2345"))[0].text.startswith(
        "That code is unknown, used or expired.")
    assert (await group.dm("bobby", code))[0].text.startswith(
        "That code was made on Telegram: send it from your account on another platform.")
    assert (await group.dm("bob", code))[0].text.startswith("That code is for this account")
    assert await snapshot(linked.db) == before

    await group.advance(timedelta(minutes=11))
    await room.dm("bob", "/start")
    before = await snapshot(linked.db)
    assert (await room.dm("bob", code))[0].text.startswith("That code is unknown, used or "
                                                           "expired.")
    assert await snapshot(linked.db) == before

    (shown,) = await group.dm("bob", "/whoami")
    assert (await room.dm("bob", code_in(shown.text)))[0].text.startswith("Done:")
    await room.dm("bob2", "/start")
    before = await snapshot(linked.db)
    assert (await room.dm("bob2", code_in(shown.text)))[0].text.startswith(
        "That code is unknown, used or expired.")
    assert await snapshot(linked.db) == before


async def test_unlink_leaves_the_answers_with_the_account_that_asks(linked: Linked) -> None:
    group, room = linked.group, linked.room
    await group.say("alice", f"/newmeetup Borrel; {local(group, timedelta(days=5))}")
    await group.say("bob", "/rsvp yes")
    await join_bob(linked)
    await room.dm("bob", "/remindvia matrix")
    (answer,) = await group.dm("bob", "/whoami unlink")
    assert answer.text.endswith("stay with this account:\n• Matrix: Bob (bob)")
    assert "Going (1):\n• Bob" in (await group.say("alice", "/who"))[0].text
    assert (await group.dm("bob", "/remindvia"))[0].text.startswith("Reminders go to Telegram.")
    await group.dm("bob", "/language nl")
    (alone,) = await room.dm("bob", "/whoami")
    assert alone.text.startswith("I know you as:\n• Matrix: Bob (bob)\n\n")  # no Dutch
    (again,) = await room.dm("bob", "/whoami unlink")
    assert again.text == "I know only this account as you: there is nothing to unlink."
    async with linked.db.transaction() as s:
        people = set(await s.scalars(select(Identity.person_id)))
    assert len(people) == 4  # alice, mia, and bob twice


def test_joining_knows_every_column_that_points_at_a_person() -> None:
    pointing = {(table.name, fk.parent.name) for table in Base.metadata.sorted_tables
                for fk in table.foreign_keys if fk.column.table.name == "people"}
    assert pointing == PERSON_COLUMNS


async def test_rows_both_people_own_once_are_kept_once(linked: Linked) -> None:
    """Every table with a row per person and chapter, meetup or chat: both of bob's people
    have one, and joining them breaks no unique constraint."""
    group, room = linked.group, linked.room
    await group.say("alice", f"/newmeetup Borrel; {local(group, timedelta(days=5))}")
    await group.say("bob", "/help")
    await room.say("bob", "/help")
    core = group.core
    async with core.units() as w:
        people = dict((await w.s.execute(select(Identity.platform, Identity.person_id).where(
            Identity.platform_user_id == "bob"))).all())
        chapter_id = await w.s.scalar(select(Chapter.id))
        meetup_id = await w.s.scalar(select(Meetup.id))
        binding_id = await w.s.scalar(select(ChatBinding.id))
        for n, person_id in enumerate(people.values(), 1):
            w.s.add_all([
                ChatAdmin(binding_id=binding_id, person_id=person_id, seen_at=w.now),
                Confirmation(token=f"t{n}", chapter_id=chapter_id, person_id=person_id,
                             command="cancel", args="", expires_at=w.now),
                CalendarSent(person_id=person_id, meetup_id=meetup_id, sequence=n,
                             sent_at=w.now),
                DmHint(person_id=person_id, meetup_id=meetup_id, created_at=w.now),
                Follow(chapter_id=chapter_id, person_id=person_id, created_at=w.now),
                Interest(chapter_id=chapter_id, person_id=person_id, created_at=w.now)])
    await join_bob(linked)
    kept = people["telegram"]
    for model in (ChatAdmin, Confirmation, CalendarSent, DmHint, Follow, Interest, Membership):
        assert await linked.count(model, person_id=kept) == 1, model
        assert await linked.count(model, person_id=people["matrix"]) == 0, model
    async with linked.db.transaction() as s:
        assert await s.scalar(select(CalendarSent.sequence)) == 2  # the newest file
        assert await s.get(Person, people["matrix"]) is None


async def test_joined_accounts_keep_one_private_calendar_feed(linked: Linked) -> None:
    from bot.db.models import CalendarToken, Identity

    await linked.group.dm("bob", "/help")
    await linked.room.dm("bob", "/help")
    async with linked.db.transaction() as s:
        people = dict((await s.execute(select(Identity.platform, Identity.person_id)
                                       .where(Identity.platform_user_id == "bob"))).all())
        for platform, token in (("telegram", "tg-feed"), ("matrix", "mx-feed")):
            s.add(CalendarToken(person_id=people[platform], token=token,
                                created_at=linked.group.clock.now()))
    assert (await join_bob(linked)).startswith("Done:")
    async with linked.db.transaction() as s:
        tokens = (await s.execute(select(CalendarToken.token, CalendarToken.person_id))).all()
    assert [tuple(t) for t in tokens] == [("tg-feed", people["telegram"])]  # the asker's feed
