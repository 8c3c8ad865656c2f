"""Secrets stay out of the logs (issue 10, point 6): `irlbot run` on Telegram, as an operator
starts it. python-telegram-bot quotes a rejected token in its error, and httpx would log
every request URL, which carries the token; the log shows neither. The bot warns when its
config file can be read by others."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.test_tg_run import start_bot, stop_bot
from tests.telegram.tg_support import ROOT, bot_process_env


def write_config(path: Path, token: str, fake: FakeBotAPI, mode: int) -> Path:
    config = path / "config.toml"
    config.write_text(f"""
[database]
url = "sqlite+aiosqlite:///{path / 'irl.db'}"
[telegram]
token = "{token}"
base_url = "{fake.base_url}"
""")
    config.chmod(mode)
    return config


async def test_a_rejected_token_is_not_quoted_in_the_log(fake: FakeBotAPI, tmp_path: Path) -> None:
    token = "987654321:AAH-a-token-the-bot-api-does-not-know-xyz"
    config = write_config(tmp_path, token, fake, 0o644)  # as `cp` or an editor often leaves it
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=bot_process_env(), cwd=ROOT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    log = out.decode()
    assert proc.returncode == 1, log
    assert "The token `***` was rejected by the server." in log
    assert token not in log and token.split(":")[1] not in log
    assert f"{config} can be read or changed by other users (mode -rw-r--r--)" in log
    assert f"chmod 600 {config}" in log


async def test_a_private_config_and_a_good_token(fake: FakeBotAPI, tmp_path: Path) -> None:
    config = write_config(tmp_path, fake.token, fake, 0o600)
    alice = fake.add_user("Alice", started=True)
    group = fake.add_group("SMC Den Bosch", admins=[alice])
    proc = await start_bot(config)
    try:
        fake.user_sends(alice, group, "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
        await fake.wait_for(lambda: any("now the chapter" in t for t in fake.texts(group)),
                            within=30, what="the /setup answer")
    finally:
        log = await stop_bot(proc)
    assert "can be read or changed by other users" not in log
    assert fake.token not in log
