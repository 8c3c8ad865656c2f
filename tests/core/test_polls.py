"""Date and plain polls: /vote or the platform's poll, ties, closing by time, /closepoll or client."""

from __future__ import annotations

from datetime import timedelta

from tests.fakes import Chat, RecordingMessenger
from tests.helpers import chapter, local, setup_chapter


async def test_poll_tie_goes_to_earlier_date_then_waitlist_and_reminders(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await setup_chapter(chat)
    polls = [s for s in messenger.sent if s.kind == "poll"]
    assert len(polls) == 1 and len(polls[0].options) == 2
    d1_label = polls[0].options[0]
    assert "Thu 3 Dec 2026" not in d1_label  # options are shown in chapter time, not raw
    await chat.say("bob", "/vote 1")
    await chat.say("carol", "/vote 1 2")
    await chat.say("dave", "/vote 2")

    out = await chat.advance(timedelta(hours=47))
    # The poll stays open until its closing time; 12 hours before, the group is nudged.
    assert [s.text.split(";")[1] for s in out] == [" 3 people have voted so far. Not yet? "
                                                   "Vote in the poll, or with /vote."]
    out = await chat.advance(timedelta(hours=2))
    assert [s.kind for s in out if s.kind == "close_poll"] == ["close_poll"]
    closing = [s.text for s in out if s.kind == "text"]
    assert len(closing) == 1
    assert f"Tweetup #1 is on {d1_label}" in closing[0]
    assert "1. " + d1_label + ": 2" in closing[0]
    assert [b.payload.split(":")[2] for b in next(s for s in out if s.kind == "text").buttons] \
        == ["yes", "maybe", "no"]

    await chat.dm("bob", "/start")
    await chat.dm("dave", "/start")
    assert "Bob is going" in (await chat.say("bob", "/rsvp yes"))[0].text
    assert "Carol is going" in (await chat.say("carol", "/rsvp yes"))[0].text
    waitlisted = await chat.say("dave", "/rsvp yes")
    assert "waitlist, position 1" in waitlisted[0].text
    out = await chat.say("carol", "/rsvp no")
    promoted = [s for s in out if s.kind == "dm"]
    assert [s.to for s in promoted] == ["dave"]
    assert "seat opened up" in promoted[0].text

    refused = await chat.say("bob", "/cancel")
    assert [s.text for s in refused] == ["Only organisers can do that."]

    who = (await chat.say("alice", "/who"))[0].text
    going = who.split("Going (2/2):")[1]
    assert "Bob" in going and "Dave" in going and "Carol" not in going

    out = await chat.advance(timedelta(days=2))
    dms = sorted((s.to, s.text.splitlines()[0]) for s in out if s.kind == "dm")
    assert dms == [("bob", "Reminder: Tweetup #1 starts in 1 day."),
                   ("dave", "Reminder: Tweetup #1 starts in 1 day.")]
    assert all(s.file is not None and b"BEGIN:VEVENT" in s.file.content
               for s in out if s.kind == "dm")
    group = [s.text for s in out if s.kind == "text"]
    assert len(group) == 1 and group[0].startswith("Tomorrow: Tweetup #1")

    # Nothing is sent twice, however often the core is woken.
    assert await chat.core.run_due() == 0
    out = await chat.advance(timedelta(hours=21, minutes=30))
    assert sorted(s.to for s in out if s.kind == "dm") == ["bob", "dave"]  # the 2-hour ones
    assert all("starts in 2 hours" in s.text for s in out if s.kind == "dm")


async def test_poll_answers_from_the_platform_and_closepoll(
        chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    d = [local(chat, timedelta(days=n)) for n in (5, 6, 7)]
    await chat.say("alice", f"/newmeetup Borrel; {d[0]} | {d[1]} | {d[2]}")
    poll = next(s for s in messenger.sent if s.kind == "poll")
    pid = f"poll-{poll.message_id}"
    await chat.answer_poll("bob", pid, [2])
    await chat.answer_poll("carol", pid, [1, 2])
    await chat.answer_poll("dave", pid, [1])
    await chat.answer_poll("dave", pid, [])  # takes it back
    assert (await chat.say("bob", "/closepoll"))[0].text == "Only organisers can do that."
    out = await chat.say("alice", "/closepoll")
    assert f"on {poll.options[2]}" in next(s for s in out if s.kind == "text").text
    who = (await chat.say("alice", "/who"))[0].text
    assert "Maybe:" in who and "Bob" in who and "Carol" in who and "Dave" not in who
    await chat.answer_poll("erin", pid, [0])  # after the close: ignored
    votes = await chat.say("erin", "/vote 1")
    assert votes[0].text == "There is no open poll right now."


async def test_an_organiser_ending_the_poll_in_their_client_closes_it(
        chat: Chat, messenger: RecordingMessenger) -> None:
    from bot.core.messages import PollEnd

    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    d1, d2 = local(chat, timedelta(days=5)), local(chat, timedelta(days=6))
    await chat.say("alice", f"/newmeetup Borrel; {d1} | {d2}")
    poll = next(s for s in messenger.sent if s.kind == "poll")
    pid = f"poll-{poll.message_id}"
    await chat.answer_poll("bob", pid, [1])
    await chat.core.handle_poll_end(PollEnd(chat.chat, pid, chat.user("bob"), False))
    assert messenger.sent[-1].text.startswith("Only organisers can close the poll; it stays open")
    await chat.core.handle_poll_end(PollEnd(chat.chat, pid, chat.user("alice"), True))
    assert any(f"Borrel is on {poll.options[1]}" in s.text for s in messenger.sent)
    before = len(messenger.sent)
    await chat.core.handle_poll_end(PollEnd(chat.chat, pid, chat.user("alice"), True))
    assert len(messenger.sent) == before  # already closed: nothing more


async def test_a_native_poll_vote_makes_the_voter_a_member(
        chat: Chat, messenger: RecordingMessenger) -> None:
    """erin only votes with the platform's poll (never types in the group); when the poll
    closes she counts as "maybe", so /meetups in her DM must show the chapter's meetup."""
    await chapter(chat)
    d1, d2 = local(chat, timedelta(days=5)), local(chat, timedelta(days=6))
    await chat.say("alice", f"/newmeetup Tweetup; {d1} | {d2}")
    poll = next(s for s in messenger.sent if s.kind == "poll")
    await chat.answer_poll("erin", f"poll-{poll.message_id}", [0])
    await chat.say("alice", "/closepoll")
    out = await chat.dm("erin", "/meetups")
    assert "Tweetup" in out[0].text


async def test_a_tied_plain_poll_does_not_crown_a_winner(chat: Chat) -> None:
    """bob votes A, carol votes B; the group must not read "Most votes: A"."""
    await chapter(chat)
    await chat.say("alice", "/poll Which venue?; Verkadefabriek | Café de Unie | Bibliotheek")
    await chat.say("bob", "/vote 1")
    await chat.say("carol", "/vote 2")
    out = await chat.say("alice", "/closepoll")
    closing = next(s.text for s in out if s.kind == "text")
    assert "Most votes: Verkadefabriek" not in closing
    assert "Tie" in closing and "Verkadefabriek" in closing and "Café de Unie" in closing


async def test_a_plain_poll_without_votes_names_no_winner(chat: Chat) -> None:
    await chapter(chat)
    await chat.say("alice", "/poll Which venue?; Verkadefabriek | Café de Unie")
    out = await chat.say("alice", "/closepoll")
    closing = next(s.text for s in out if s.kind == "text")
    assert "Most votes" not in closing
    assert "No votes" in closing


async def test_voting_the_same_option_twice_in_a_plain_poll_counts_once(chat: Chat) -> None:
    """`/vote 2 2` (or `/vote 2,2`) names one option; it is not "more than one"."""
    await chapter(chat)
    await chat.say("alice", "/poll Which venue?; Verkadefabriek | Café de Unie")
    out = await chat.say("bob", "/vote 2 2")
    assert [s.text for s in out] == ["Bob voted for 2."]


async def test_a_batch_of_poll_answers_counts_each_event_once_and_each_voters_last(
        chat: Chat, messenger: RecordingMessenger) -> None:
    """`Core.handle_poll_answers`, as the Telegram adapter calls it with the answers waiting
    for one poll: a voter changing and taking back their vote inside the batch, the same
    event twice in it and once more in a later batch, answers to an unknown poll and naming
    no such option, voters the bot never saw. Then /closepoll shows the tally."""
    from sqlalchemy import select

    from bot.core.messages import PollAnswer
    from bot.db.models import Identity, Membership

    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", "/poll Which venue?; Verkadefabriek | Café de Unie | De Kleine Winst")
    poll = next(s for s in messenger.sent if s.kind == "poll")
    pid = f"poll-{poll.message_id}"
    ids = iter(range(1000, 2000))

    def answer(name: str, chosen: tuple[int, ...], event: int | None = None,
               poll_id: str = pid) -> PollAnswer:
        return PollAnswer(messenger.platform, poll_id, chat.user(name), chosen,
                          str(next(ids) if event is None else event))

    bob_first = answer("bob", (0,))
    batch = [
        bob_first,
        answer("carol", (2,)),
        answer("dave", (1,)),
        answer("bob", (1,)),  # changes his mind
        answer("dave", ()),  # takes it back
        answer("erin", (0,)),
        answer("erin", (5,)),  # no such option: erin's 0 stands
        answer("frank", (0, 1)),  # one answer only: nothing
        answer("gina", (2,), poll_id="poll-unknown"),
        bob_first,  # the same event again in the batch: once
        *(answer(f"member{i}", (i % 3,)) for i in range(9)),
    ]
    await chat.core.handle_poll_answers(batch)
    # Delivered again later (a restart): bob's first answer must not undo his change.
    await chat.core.handle_poll_answers([bob_first, answer("carol", (1,))])

    out = await chat.say("alice", "/closepoll")
    text = next(s for s in out if s.kind == "text").text
    # 0: erin + member0,3,6 = 4; 1: bob, carol (changed in the second batch) + member1,4,7 = 5;
    # 2: member2,5,8 = 3
    assert "1. Verkadefabriek: 4\n2. Café de Unie: 5\n3. De Kleine Winst: 3" in text
    # Voters who only answered the poll became people and members; gina (an unknown poll)
    # did not.
    async with chat.core.db.transaction() as s:
        members = set(await s.scalars(select(Identity.platform_user_id).join(
            Membership, Membership.person_id == Identity.person_id)))
    assert {"bob", "erin", "member0", "member8"} <= members
    assert "gina" not in members and "frank" not in members  # frank's answer was refused
