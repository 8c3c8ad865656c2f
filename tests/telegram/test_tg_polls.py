"""Telegram's own polls: posted, voted on (also by anonymous admins), taken back and closed."""

from __future__ import annotations

import pytest

from bot.adapters.telegram import PollTooLarge, TelegramAdapter
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_support import RecordingCore, tg


async def test_native_poll_and_votes(fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore) -> None:
    alice, bob = fake.add_user("Alice"), fake.add_user("Bob")
    group = fake.add_group("Den Bosch", members=[alice, bob])
    sent = await adapter.messenger.send_poll(
        tg(group.id), "Which dates?", ["do 12 mrt", "vr 13 mrt", "za 14 mrt"], multiple=True
    )
    poll = fake.polls[sent.platform_poll_id]
    assert not poll.is_anonymous and poll.allows_multiple_answers
    assert sent.message_id == str(poll.message_id) and sent.chat == tg(group.id)

    fake.vote(alice, poll, [0, 2])
    fake.vote(bob, poll, [1])
    fake.vote(bob, poll, [])  # takes the vote back
    await fake.wait_for(lambda: len(core.poll_answers) == 3)
    assert [(a.voter.id, a.option_indexes) for a in core.poll_answers] == [
        (str(alice.id), (0, 2)),
        (str(bob.id), (1,)),
        (str(bob.id), ()),
    ]
    assert all(a.platform_poll_id == poll.id for a in core.poll_answers)

    await adapter.messenger.close_poll(sent)
    await adapter.messenger.close_poll(sent)  # closing twice is harmless
    assert poll.is_closed


async def test_too_many_poll_options_is_refused_before_sending(
    fake: FakeBotAPI, adapter: TelegramAdapter
) -> None:
    group = fake.add_group("Den Bosch")
    options = [f"optie {i}" for i in range(adapter.messenger.max_poll_options + 1)]
    with pytest.raises(PollTooLarge):
        await adapter.messenger.send_poll(tg(group.id), "Wanneer?", options, multiple=True)
    assert not fake.calls("sendPoll")


async def test_an_anonymous_admins_vote_is_the_groups_not_channel_bots(
    fake: FakeBotAPI, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    """Anonymous admins of two chapters vote: each vote belongs to its own group, not to
    one shared @Channel_Bot "person" whose votes would overwrite each other."""
    alice = fake.add_user("Alice")
    den_bosch = fake.add_group("Den Bosch", admins=[alice])
    veghel = fake.add_group("Veghel", admins=[alice])
    first = await adapter.messenger.send_poll(tg(den_bosch.id), "Wanneer?", ["do", "vr"], multiple=True)
    second = await adapter.messenger.send_poll(tg(veghel.id), "Wanneer?", ["za", "zo"], multiple=True)
    fake.vote(alice, first.platform_poll_id, [0], as_chat=den_bosch)
    fake.vote(alice, second.platform_poll_id, [1], as_chat=veghel)
    await fake.wait_for(lambda: len(core.poll_answers) == 2, what="two votes")
    voters = {a.platform_poll_id: a.voter.id for a in core.poll_answers}
    assert voters == {first.platform_poll_id: str(den_bosch.id), second.platform_poll_id: str(veghel.id)}
