"""The config file: every key of config.example.toml is read, errors name the key and file."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.adapters.matrix.settings import MatrixSettings
from bot.adapters.telegram.settings import TelegramSettings
from bot.config import ConfigError, load_config
from bot.core.settings import CoreSettings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
ENV_VARS = ("IRL_TELEGRAM_TOKEN", "IRL_MATRIX_PASSWORD", "IRL_MATRIX_ACCESS_TOKEN",
            "IRL_DATABASE_URL")
WEBHOOK_WITHOUT_SECRET = """
[telegram]
token = "123456:ABC-def_1"
mode = "webhook"
webhook_url = "https://bot.example.org/telegram"
"""


def test_the_example_config_loads_with_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    config = load_config(EXAMPLE)
    assert config.database.url == "sqlite+aiosqlite:///irl.db"
    assert config.database.connections == 8
    assert config.core.reminder_offsets == (1440, 120)
    assert config.core.reminder_grace == timedelta(hours=3)
    assert config.core.shutdown_deadline == timedelta(seconds=10)
    assert config.telegram is None and config.matrix is None
    assert config.web is None  # off unless the section is there


def test_the_examples_web_section_switched_on_loads(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    # What the example says to do: take the "# " from [web] and its keys.
    text = re.sub(r"(?m)^# (\[web\]|listen =|public_url =)", r"\1", EXAMPLE.read_text())
    path = tmp_path / "config.toml"
    path.write_text(text)
    config = load_config(path)
    assert config.web is not None
    assert (config.web.host, config.web.port) == ("127.0.0.1", 8080)
    assert config.web.public_url == "https://irl.example.org"


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[matrix]\nhomeserver = "http://127.0.0.1:8008"\nuser_id = "@irl:localhost"\n')
    monkeypatch.setenv("IRL_TELEGRAM_TOKEN", "123:abc")
    monkeypatch.setenv("IRL_MATRIX_PASSWORD", "s3cret")
    monkeypatch.setenv("IRL_DATABASE_URL", "postgresql+asyncpg://db/irl")
    config = load_config(path)
    assert config.telegram is not None and config.telegram.token == "123:abc"
    assert config.matrix is not None and config.matrix.password == "s3cret"
    assert config.database.url == "postgresql+asyncpg://db/irl"


@pytest.mark.parametrize(("text", "key"), [
    ('[bot]\nreminder_offsets = "24h"\n', "[bot] reminder_offsets"),
    ('[bot]\ndefault_timezone = "Mars/Base"\n', "[bot] default_timezone"),
    ('[bot]\ndefault_language = "fr"\n', "[bot] default_language"),
    ('[bot]\nreminder_grace = "soon"\n', "[bot] reminder_grace"),
    ('[bot]\ncolour = "red"\n', "[bot] colour"),
    ('[telegram]\ntoken = "1:a"\nmode = "carrier-pigeon"\n', "[telegram] mode"),
    ('[telegram]\ntoken = "1:a"\nport = "eighty"\n', "[telegram] port"),
    ('[matrix]\nhomeserver = "https://m.org"\nuser_id = "irl"\npassword = "x"\n',
     "[matrix] user_id"),
    ('[matrix]\nhomeserver = "https://m.org"\nuser_id = "@irl:m.org"\n', "[matrix] password"),
    ("[database\n", "(syntax)"),
    ("[redis]\nurl = 1\n", "[redis]"),
    ('[telegram]\ntoken = "1:a"\nmode = "webhook"\nwebhook_url = "https://x.org/h"\n',
     "[telegram] secret_token"),
    ('[telegram]\ntoken = "1:a"\nmode = "webhook"\nwebhook_url = "https://x.org/h"\n'
     'secret_token = "not secret!"\n', "[telegram] secret_token"),
    ('[telegram]\ntoken = "1:a"\nmode = "webhook"\nsecret_token = "s"\n',
     "[telegram] webhook_url"),
    ('[telegram]\ntoken = "1:a"\nmode = "webhook"\nwebhook_url = "bot.example.org/hook"\n'
     'secret_token = "s"\n', "[telegram] webhook_url"),
    ('[telegram]\ntoken = "1:a"\nbase_url = "ftp://x"\n', "[telegram] base_url"),
    ('[telegram]\ntoken = "123456"\n', "[telegram] token"),
    ('[telegram]\ntoken = "abc:DEF"\n', "[telegram] token"),
    ('[telegram]\ntoken = "123:ab c"\n', "[telegram] token"),
    ('[telegram]\ntoken = 123\n', "[telegram] token"),
    ('[telegram]\ntoken = "1:a"\nport = 0\n', "[telegram] port"),
    ('[telegram]\ntoken = "1:a"\nport = 70000\n', "[telegram] port"),
    ('[telegram]\ntoken = "1:a"\nwebhook = true\n', "[telegram] webhook"),
    ('[telegram]\nport = 70000\n', "[telegram] port"),  # checked even with Telegram off
    ('[matrix]\nhomeserver = "matrix.example.org"\nuser_id = "@irl:m.org"\npassword = "x"\n',
     "[matrix] homeserver"),
    ('[matrix]\nhomeserver = "https://m.org"\nuser_id = "@irl"\npassword = "x"\n',
     "[matrix] user_id"),
    ('[matrix]\nhomeserver = "https://m.org"\npassword = "x"\n', "[matrix] user_id"),
    ('[matrix]\nhomeserver = "https://m.org"\nuser_id = "@irl:m.org"\npassword = "x"\n'
     "organiser_power_level = 101\n", "[matrix] organiser_power_level"),
    ('[matrix]\nhomeserver = "https://m.org"\nuser_id = "@irl:m.org"\npassword = "x"\n'
     'organiser_power_level = "50"\n', "[matrix] organiser_power_level"),
    ('[matrix]\nhomeserver = "https://m.org"\nuser_id = "@irl:m.org"\npassword = "x"\n'
     'dm_invite_timeout = "0m"\n', "[matrix] dm_invite_timeout"),
    ('[matrix]\nhomeserver = "https://m.org"\nuser_id = "@irl:m.org"\npassword = "x"\n'
     'dm_invite_timeout = 120\n', "[matrix] dm_invite_timeout"),
    ('[matrix]\nhomeserver = "https://m.org"\nuser_id = "@irl:m.org"\npassword = "x"\n'
     'allowed_inviters = ["@alice"]\n', "[matrix] allowed_inviters"),
    ('[matrix]\nhomeserver = "https://m.org"\nuser_id = "@irl:m.org"\npassword = "x"\n'
     "sync_timeout_ms = 1000\n", "[matrix] sync_timeout_ms"),
    ('[bot]\ngroup_reminder = "tomorrow"\n', "[bot] group_reminder"),
    ('[bot]\nreminder_grace = "31d"\n', "[bot] reminder_grace"),
    ("[bot]\nreminder_offsets = [24]\n", "[bot] reminder_offsets"),
    ("[bot]\nshutdown_deadline_seconds = -1\n", "[bot] shutdown_deadline_seconds"),
    ('[bot]\nshutdown_deadline_seconds = "10s"\n', "[bot] shutdown_deadline_seconds"),
    ("[bot]\nshutdown_deadline_seconds = 3601\n", "[bot] shutdown_deadline_seconds"),
    ("[bot]\ncommands_per_minute = -1\n", "[bot] commands_per_minute"),
    ("[bot]\ncommands_per_minute = \"ten\"\n", "[bot] commands_per_minute"),
    ('bot = "yes"\n', "[bot]"),
    ('[database]\nurl = "postgres://db/irl"\n', "[database] url"),
    ("[database]\nurl = 5\n", "[database] url"),
    ("[database]\nconnections = 1\n", "[database] connections"),
    ("[database]\nconnections = \"10\"\n", "[database] connections"),
])
def test_a_config_error_names_the_key_and_the_file(text: str, key: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key
    assert str(path) in str(caught.value)
    assert str(caught.value) == f"{path}: {key}: {caught.value.problem}"
    assert "\n" not in str(caught.value)


def test_irlbot_migrate_creates_the_schema(tmp_path: Path) -> None:
    import sqlite3
    import subprocess
    import sys

    db = tmp_path / "fresh.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n')
    proc = subprocess.run([sys.executable, "-m", "bot", "migrate", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    tables = {r[0] for r in sqlite3.connect(db).execute(
        "select name from sqlite_master where type = 'table'")}
    assert {"chapters", "meetups", "reminders", "alembic_version"} <= tables
    broken = tmp_path / "broken.toml"
    broken.write_text('[bot]\nreminder_offsets = "24h"\n')
    proc = subprocess.run([sys.executable, "-m", "bot", "migrate", "--config", str(broken)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"{broken}: [bot] reminder_offsets" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("command", ["migrate", "run"])
def test_a_webhook_without_secret_stops_the_command_with_one_line(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "irl.db"}"\n'
                    + WEBHOOK_WITHOUT_SECRET)
    assert main([command, "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f'{path}: [telegram] secret_token: is needed when mode = "webhook" '
        "(1-256 characters A-Z, a-z, 0-9, _ and -)"]
    assert not (tmp_path / "irl.db").exists()  # stopped before touching the database


def test_irlbot_run_reports_a_bad_token_in_one_line_without_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "config.toml"
    path.write_text('[telegram]\ntoken = "my-bot-token"\n')
    env = {**os.environ, "IRL_TELEGRAM_TOKEN": ""}
    proc = subprocess.run([sys.executable, "-m", "bot", "run", "--config", str(path)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"{path}: [telegram] token: must look like 123456:ABC-DEF1234 (from @BotFather: "
        "digits, a colon, then letters, digits, _ and -)"]


def test_a_bad_token_from_the_environment_names_the_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[telegram]\ntoken = "123:fine"\n')
    monkeypatch.setenv("IRL_TELEGRAM_TOKEN", "123 456")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "[telegram] token from IRL_TELEGRAM_TOKEN"
    assert main(["migrate", "--config", str(path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{path}: [telegram] token from IRL_TELEGRAM_TOKEN: must look like")


def test_a_valid_webhook_config_gives_the_adapter_its_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "config.toml"
    path.write_text(WEBHOOK_WITHOUT_SECRET + 'secret_token = "abc_DEF-1"\nport = 8444\n'
                    '[matrix]\nhomeserver = "https://m.org"\nuser_id = "@irl:m.org"\n'
                    'access_token = "t"\norganiser_power_level = 100\n'
                    'allowed_inviters = ["@alice:example.org", "example.org:8448"]\n'
                    '[bot]\ngroup_reminder = "1d2h"\nreminder_offsets = []\n')
    config = load_config(path)
    assert config.telegram == TelegramSettings(
        token="123456:ABC-def_1", mode="webhook", webhook_url="https://bot.example.org/telegram",
        port=8444, secret_token="abc_DEF-1")
    assert config.matrix == MatrixSettings(
        homeserver="https://m.org", user_id="@irl:m.org", access_token="t",
        organiser_power_level=100, dm_invite_timeout_s=120.0,
        allowed_inviters=("@alice:example.org", "example.org:8448"),
        store_dir=str(tmp_path / "irl-matrix-store"))
    assert config.core == CoreSettings(reminder_offsets=(), group_reminder_offset=26 * 60)


def test_reading_the_config_loads_no_platform_library(tmp_path: Path) -> None:
    """`irlbot migrate` reads the whole config, adapters' settings included, but stays light."""
    import subprocess
    import sys

    path = tmp_path / "config.toml"
    path.write_text(WEBHOOK_WITHOUT_SECRET + 'secret_token = "s"\n')
    code = ("import sys; from bot.config import load_config; "
            f"assert load_config({str(path)!r}).telegram; "
            "print(sorted(m for m in ('telegram', 'nio', 'aiohttp') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "IRL_TELEGRAM_TOKEN": ""})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_shutdown_deadline_is_read_from_the_bot_section(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[bot]\nshutdown_deadline_seconds = 0\n")
    assert load_config(path).core.shutdown_deadline == timedelta(0)
    path.write_text("[bot]\nshutdown_deadline_seconds = 25\n")
    assert load_config(path).core.shutdown_deadline == timedelta(seconds=25)


def test_the_pools_connections_are_read_from_the_database_section(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[database]\nconnections = 4\n")
    assert load_config(path).database.connections == 4


def test_commands_per_minute_is_read_from_the_bot_section(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert load_config(None).core.commands_per_minute == 10
    path.write_text("[bot]\ncommands_per_minute = 0\n")
    assert load_config(path).core.commands_per_minute == 0


def test_the_matrix_keys_folder_is_beside_the_config_file_unless_absolute(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IRL_MATRIX_PASSWORD", "secret")
    path = tmp_path / "etc" / "irl.toml"
    path.parent.mkdir()
    base = '[matrix]\nhomeserver = "http://127.0.0.1:8008"\nuser_id = "@irl:localhost"\n'
    path.write_text(base)
    matrix = load_config(path).matrix
    assert matrix is not None and matrix.store_dir == str(tmp_path / "etc" / "irl-matrix-store")
    path.write_text(base + f'store_dir = "{tmp_path / "keys"}"\n')
    matrix = load_config(path).matrix
    assert matrix is not None and matrix.store_dir == str(tmp_path / "keys")
    path.write_text(base + 'store_dir = ""\n')
    with pytest.raises(ConfigError, match="store_dir"):
        load_config(path)
