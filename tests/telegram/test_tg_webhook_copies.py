"""Issue 9: three copies in webhook mode, each update posted to a random copy and some posted
twice: every command is answered once, every button press gets one answer, every poll answer
is counted once.

Three real `irlbot run` processes on one PostgreSQL; the fake Bot API plays Telegram behind a
load balancer: it posts each update to one copy picked at random, and about a third of them a
second time at once (to the same copy or another one), as Telegram does when a 200 is slow to
come back. At the end every update is posted once more to yet another copy, as after a lost
confirmation.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db.models import InboxUpdate, Rsvp, RsvpStatus, Vote
from bot.db.session import Database
from tests.telegram.fake_bot_api import FakeBotAPI, FakeLimits
from tests.telegram.tg_support import BotProcess

SECRET = "three-copies_secret"
COPIES = 3
MEMBERS = 9


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    # The copies keep Telegram's real limits each; three of them together may go past a
    # chat's, so the fake's windows are shorter here (a 429 is waited out, never lost, but a
    # group's would cost a minute).
    async with FakeBotAPI(limits=FakeLimits().scaled(0.1), webhook_retry_delay=0.05) as api:
        yield api


def config_for(fake: FakeBotAPI, db_url: str, tmp_path: Path, n: int, port: int) -> Path:
    config = tmp_path / f"config{n}.toml"
    config.write_text(f"""
[database]
url = "{db_url}"
[bot]
send_lease_seconds = 5
sweep_seconds = 1
[telegram]
token = "{fake.token}"
base_url = "{fake.base_url}"
mode = "webhook"
webhook_url = "http://127.0.0.1:{port}/telegram/hook"
listen = "127.0.0.1"
port = {port}
secret_token = "{SECRET}"
""")
    return config


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_three_copies_in_webhook_mode_answer_every_command_once(
        fake: FakeBotAPI, db_url: str, tmp_path: Path) -> None:
    rng = random.Random(9)
    ports = [free_port() for _ in range(COPIES)]
    urls = [f"http://127.0.0.1:{port}/telegram/hook" for port in ports]
    copies = [BotProcess(config_for(fake, db_url, tmp_path, n, port), tmp_path / f"copy{n}.log")
              for n, port in enumerate(ports)]
    posts: Counter[int] = Counter()

    def load_balancer(update: dict[str, object]) -> list[str]:
        first = rng.choice(urls)
        chosen = [first] if rng.random() > 0.35 else [first, rng.choice(urls)]
        posts[int(update["update_id"])] += len(chosen)  # type: ignore[call-overload]
        return chosen

    fake.webhook_router = load_balancer
    alice = fake.add_user("Alice", started=True)
    anna = fake.add_user("Anna", started=True)
    members = [fake.add_user(f"Member {i}", started=True) for i in range(MEMBERS)]
    buttons_group = fake.add_group("SMC Den Bosch", members=members, admins=[alice])
    poll_group = fake.add_group("SMC Eindhoven", members=members, admins=[anna])
    database = Database(db_url)
    try:
        started = time.monotonic()
        for copy in copies:
            await copy.start()
        await fake.wait_for(lambda: len(fake.calls("setWebhook")) == COPIES, within=60,
                            what="three copies listening")
        print(f"three copies up in {time.monotonic() - started:.1f} s")

        # -- two chapters; one meetup with RSVP buttons, one with a date poll
        def answered(chat: object, words: str) -> bool:
            return any(words in t for t in fake.texts(chat))  # type: ignore[arg-type]

        fake.user_sends(alice, buttons_group,
                        "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
        fake.user_sends(anna, poll_group, "/setup SMC Eindhoven; Eindhoven; Europe/Amsterdam; en")
        await fake.wait_for(lambda: answered(buttons_group, "now the chapter")
                            and answered(poll_group, "now the chapter"), within=30,
                            what="both chapters set up")
        fake.user_sends(alice, buttons_group, "/newmeetup Borrel; 2027-06-01 19:30; Café")
        fake.user_sends(anna, poll_group,
                        "/newmeetup Borrel; 2027-06-01 19:30 | 2027-06-08 19:30; Café")
        await fake.wait_for(lambda: any(m.buttons for m in fake.bot_messages(buttons_group))
                            and bool(fake.polls), within=30, what="announcement and poll")
        announcement = next(m for m in fake.bot_messages(buttons_group) if m.buttons)
        (poll,) = fake.polls.values()
        in_poll_group = len(fake.bot_messages(poll_group))

        # -- the burst: private commands, group commands, button presses, poll answers
        sent_privately: Counter[int] = Counter()
        queries: list[str] = []
        whos = 0
        choices: dict[int, int] = {}
        for member in members:
            private = fake.private_chat(member)
            for text in ("/start", "/help", "/meetups"):
                fake.user_sends(member, private, text)
                sent_privately[member.id] += 1
            queries.append(fake.press(member, announcement, label=None,
                                      data=announcement.buttons[0][1]))
            fake.user_sends(member, poll_group, "/who")
            whos += 1
            choices[member.id] = rng.randrange(2)
            fake.vote(member, poll, [choices[member.id]])

        def everything_answered() -> bool:
            return (all(len(fake.bot_messages(m.id)) >= sent_privately[m.id] for m in members)
                    and all(fake.answer_to(q) is not None for q in queries)
                    and len(fake.bot_messages(poll_group)) >= in_poll_group + whos)

        started = time.monotonic()
        await fake.wait_for(everything_answered, within=90, what="every command answered")
        print(f"burst of {len(posts)} updates answered in {time.monotonic() - started:.1f} s")
        twice = sum(n > 1 for n in posts.values())
        # Telegram posts every update once more, to any copy (a confirmation it never got).
        fake.resend(*fake.update_ids("message"), *fake.update_ids("callback_query"),
                    *fake.update_ids("poll_answer"))
        await fake.wait_for(lambda: fake.pending_updates == 0, within=60,
                            what="the repeats delivered")

        async def inbox_done() -> bool:
            async with database.transaction() as s:
                left = await s.scalar(select(func.count()).select_from(InboxUpdate)
                                      .where(InboxUpdate.handled_at.is_(None)))
            return left == 0

        for _ in range(100):
            if await inbox_done():
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(6)  # an edit's interval: anything answered twice is here by now

        print(f"{len(posts)} updates, {twice} posted twice at once, every one again at the end")
        assert twice > 5
        for member in members:
            replies = fake.bot_messages(member.id)
            assert len(replies) == sent_privately[member.id], [m.text for m in replies]
        assert Counter(a.query_id for a in fake.callback_answers
                       if a.query_id in queries) == Counter(queries)
        assert len(fake.bot_messages(poll_group)) == in_poll_group + whos
        async with database.transaction() as s:
            votes = Counter((await s.execute(select(Vote.person_id))).scalars().all())
            going = await s.scalar(select(func.count()).select_from(Rsvp)
                                   .where(Rsvp.status == RsvpStatus.YES))
        assert sorted(votes.values()) == [1] * MEMBERS
        assert going == MEMBERS
        # The announcement ends on the latest counts, whichever copy edited it last.
        final = next(m for m in fake.bot_messages(buttons_group) if m.buttons)
        assert f"{MEMBERS} going" in final.text, final.text
        assert "Traceback" not in "".join(copy.output() for copy in copies)
    finally:
        await database.dispose()
        await asyncio.gather(*(copy.stop() for copy in copies))
        for n, copy in enumerate(copies):
            print(f"---- copy {n}\n" + copy.output()[-2500:])
