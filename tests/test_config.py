"""The config file: every key of config.example.toml is read, errors name the key and file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def test_the_example_config_loads_with_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("IRL_TELEGRAM_TOKEN", "IRL_MATRIX_PASSWORD", "IRL_MATRIX_ACCESS_TOKEN",
                "IRL_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    config = load_config(EXAMPLE)
    assert config.database.url == "sqlite+aiosqlite:///irl.db"
    assert config.bot.reminder_offsets == (1440, 120)
    assert config.bot.reminder_grace == timedelta(hours=3)
    assert config.telegram is None and config.matrix is None


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
])
def test_a_config_error_names_the_key_and_the_file(text: str, key: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IRL_MATRIX_PASSWORD", raising=False)
    monkeypatch.delenv("IRL_MATRIX_ACCESS_TOKEN", raising=False)
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key
    assert str(path) in str(caught.value)


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
