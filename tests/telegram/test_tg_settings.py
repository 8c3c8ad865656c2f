"""The [telegram] settings and building the adapter from the config."""

from __future__ import annotations

import pytest

from bot.adapters.telegram import TelegramAdapter, TelegramSettings
from bot.adapters.telegram.runtime import build_telegram, settings_from_config
from bot.config import TelegramConfig
from tests.telegram.tg_support import RecordingCore


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
    "kwargs",
    [
        {"token": "no-colon"},
        {"token": "1:a", "mode": "push"},
        {"token": "1:a", "mode": "webhook", "secret_token": "s"},
        {"token": "1:a", "mode": "webhook", "webhook_url": "https://x/y"},
        {"token": "1:a", "mode": "webhook", "webhook_url": "https://x/y", "secret_token": "a b"},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        TelegramSettings(**kwargs)


def test_built_from_the_config_section() -> None:
    cfg = TelegramConfig(token="123:abc", base_url="http://127.0.0.1:1/bot", listen="0.0.0.0")
    settings = settings_from_config(cfg)
    assert settings == TelegramSettings(token="123:abc", base_url="http://127.0.0.1:1/bot", listen="0.0.0.0")
    adapter = build_telegram(cfg, RecordingCore())
    assert isinstance(adapter, TelegramAdapter) and adapter.messenger.platform == "telegram"


async def test_start_needs_a_core() -> None:
    adapter = TelegramAdapter(TelegramSettings(token="123:abc", base_url="http://127.0.0.1:9/"))
    with pytest.raises(RuntimeError):
        await adapter.start()
