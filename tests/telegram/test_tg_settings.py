"""The [telegram] settings and building the adapter from the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.telegram import TelegramAdapter, TelegramSettings
from bot.adapters.telegram.runtime import build_telegram
from bot.config import ConfigError, load_config
from bot.db.session import Database
from tests.telegram.tg_support import RecordingCore


def telegram_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     values: dict[str, str]) -> Path:
    monkeypatch.delenv("IRL_TELEGRAM_TOKEN", raising=False)
    path = tmp_path / "config.toml"
    path.write_text("[telegram]\n" + "".join(f'{k} = "{v}"\n' for k, v in values.items()))
    return path


def test_defaults_and_webhook_path() -> None:
    s = TelegramSettings(token="123:abc")
    assert (s.base_url, s.mode) == ("https://api.telegram.org/bot", "polling")
    hook = TelegramSettings(
        token="123:abc",
        mode="webhook",
        webhook_url="https://bot.example.org/tg/hook",
        secret_token="abc_DEF-1",
    )
    assert hook.webhook_path == "tg/hook"


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"token": "no-colon"}, "token"),
        ({"token": "1:a", "mode": "push"}, "mode"),
        ({"token": "1:a", "mode": "webhook", "secret_token": "s"}, "webhook_url"),
        ({"token": "1:a", "mode": "webhook", "webhook_url": "https://x/y"}, "secret_token"),
        ({"token": "1:a", "mode": "webhook", "webhook_url": "https://x/y", "secret_token": "a b"},
         "secret_token"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, str], key: str, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = telegram_section(tmp_path, monkeypatch, kwargs)
    with pytest.raises(ValueError) as caught:
        load_config(path)
    assert isinstance(caught.value, ConfigError)
    assert caught.value.key == f"[telegram] {key}"


def test_built_from_the_config_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = telegram_section(tmp_path, monkeypatch, {
        "token": "123:abc", "base_url": "http://127.0.0.1:1/bot", "listen": "0.0.0.0"})
    settings = load_config(path).telegram
    assert settings is not None
    assert settings == TelegramSettings(token="123:abc", base_url="http://127.0.0.1:1/bot", listen="0.0.0.0")
    adapter = build_telegram(settings, Database(f"sqlite+aiosqlite:///{tmp_path / 'irl.db'}"))
    adapter.bind(RecordingCore())
    assert isinstance(adapter, TelegramAdapter) and adapter.messenger.platform == "telegram"


async def test_start_needs_a_core() -> None:
    adapter = TelegramAdapter(TelegramSettings(token="123:abc", base_url="http://127.0.0.1:9/"))
    with pytest.raises(RuntimeError):
        await adapter.start()
