"""A storm of native poll answers through the fake Bot API, the adapter and the real core:
answers to one poll are recorded in batches (votes.py, `Core.handle_poll_answers`), and the
tally the bot announces is exactly the members' last answers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from bot.adapters.telegram import TelegramAdapter
from bot.core.app import Core
from bot.core.messages import PollAnswer
from bot.db.models import InboxUpdate, Vote
from bot.db.session import Database
from tests.telegram.fake_bot_api import FakeBotAPI


async def test_a_burst_of_poll_answers_ends_in_the_right_tally(
    fake: FakeBotAPI, wired: tuple[TelegramAdapter, Core], db: Database
) -> None:
    _adapter, core = wired
    batches: list[list[PollAnswer]] = []
    handle = core.handle_poll_answers

    async def recording(answers: Sequence[PollAnswer], inbox: str | None = None) -> None:
        await handle(answers, inbox)
        batches.append(list(answers))  # once recorded

    core.handle_poll_answers = recording  # type: ignore[method-assign]

    alice = fake.add_user("Alice", language_code="en")
    members = [fake.add_user(f"Member {i}", language_code="en") for i in range(30)]
    group = fake.add_group("SMC Den Bosch", members=members, creator=alice)
    fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await fake.wait_for(lambda: len(fake.texts(group)) == 1, what="the /setup answer")
    fake.user_sends(alice, group, "/poll Which venue?; Verkadefabriek | Café de Unie | De Kleine Winst")
    await fake.wait_for(lambda: bool(fake.polls), what="the poll")
    (poll,) = fake.polls.values()

    # All at once, so that they come in one getUpdates answer: member i votes i % 3 ...
    for i, member in enumerate(members):
        fake.vote(member, poll, [i % 3])
    first_answer = fake.update_ids("poll_answer")[0]  # Member 0: option 0
    fake.vote(members[0], poll, [1])  # ... Member 0 changes their mind,
    fake.vote(members[1], poll, [])  # Member 1 takes their vote back,
    fake.vote(members[2], poll, [0])  # Member 2 changes twice,
    fake.vote(members[2], poll, [1])
    fake.repeat(first_answer)  # and Member 0's first answer comes twice in the batch.
    await fake.wait_for(lambda: fake.pending_updates == 0, what="the answers delivered")
    await fake.wait_for(lambda: sum(map(len, batches)) == 34, what="the answers recorded")
    # They were recorded together, not one by one.
    assert len(batches) <= 2 and max(map(len, batches)) >= 17

    # Telegram offers one again (its confirmation was lost): skipped by the inbox.
    fake.resend(first_answer)
    await fake.wait_for(lambda: fake.pending_updates == 0, what="the repeat delivered")

    before = len(fake.texts(group))
    fake.user_sends(alice, group, "/closepoll")
    await fake.wait_for(lambda: len(fake.texts(group)) > before, what="the result")
    result = next(t for t in fake.texts(group)[before:] if t.startswith("Poll closed"))
    # Option 0: members 3, 6, ..., 27 (9); 1: 0, 2, 4, 7, ..., 28 (11); 2: 5, 8, ..., 29 (9).
    assert "1. Verkadefabriek: 9\n2. Café de Unie: 11\n3. De Kleine Winst: 9" in result
    assert "Most votes: Café de Unie" in result
    assert poll.is_closed

    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Vote)) == 29
        unhandled = await s.scalar(select(func.count()).select_from(InboxUpdate).where(
            InboxUpdate.update_id.in_(fake.update_ids("poll_answer")),
            InboxUpdate.handled_at.is_(None)))
    assert unhandled == 0  # each answer's row marked in the unit of work that recorded it
