"""`irlbot run` as its own process, killed with SIGKILL between two commands."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.matrix.conftest import MakeMember
from tests.matrix.mx_helpers import is_member_join, is_text_from
from tests.matrix.mx_synapse import Account, SynapseServer

REPO = Path(__file__).resolve().parents[2]


class BotProcess:
    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(self.config)],
            cwd=REPO, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_config(path: Path, synapse: SynapseServer, account: Account, db: Path) -> None:
    path.write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n\n'
        f'[matrix]\nhomeserver = "{synapse.url}"\nuser_id = "{account.user_id}"\n'
        f'password = "{account.password}"\ndm_invite_timeout = "1m"\n'
    )


@pytest.fixture
def bot_process(synapse: SynapseServer, tmp_path: Path) -> Iterator[tuple[BotProcess, Account]]:
    account = synapse.register(synapse.unique("bot"))
    config = tmp_path / "cfg.toml"
    write_config(config, synapse, account, tmp_path / "irl.db")
    process = BotProcess(config, tmp_path / "bot.log")
    yield process, account
    process.stop()


async def test_sigkill_between_two_commands_loses_and_repeats_nothing(
    bot_process: tuple[BotProcess, Account], make_member: MakeMember
) -> None:
    process, account = bot_process
    bot_id = account.user_id
    alice = await make_member("alice")
    process.start()
    room = await alice.create_room([bot_id])
    await alice.wait_for(is_member_join(bot_id), within=30)

    async def command(text: str, expect: str) -> None:
        mark = len(alice.timeline)  # the answer to this command, not an earlier one
        await alice.say(room, text)
        await alice.wait_for(is_text_from(bot_id, room, expect), within=60, after=mark)

    await command("!setup SMC Veghel; Veghel; Europe/Amsterdam; en", "SMC Veghel")
    process.kill()  # the moment the answer is out

    mark = len(alice.timeline)
    await alice.say(room, "!meetups")  # while the bot is dead
    process.start()
    await alice.wait_for(is_text_from(bot_id, room, "No meetups planned"), within=60, after=mark)
    await command("!language en", "private chat")
    process.kill()
    process.start()
    await command("!help", "What I can do")
    await asyncio.sleep(1.5)  # room for a duplicate to show up, if there were one

    answers = alice.bodies(room, bot_id)
    assert len(answers) == 4, [a[:60] for a in answers]
    assert sum("SMC Veghel" in a for a in answers) == 1
    assert "\n!start" in answers[-1]  # commands shown the way Element users type them
