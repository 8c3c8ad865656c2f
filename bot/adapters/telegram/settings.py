"""The `[telegram]` section of the config, as `bot.config.load_config` checked and built it.

No checks here (one place validates: bot/config.py) and no heavy imports (`irlbot migrate`
reads the config without loading python-telegram-bot)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    # python-telegram-bot appends the token; point it at a local Bot API server or a fake.
    base_url: str = "https://api.telegram.org/bot"
    mode: str = "polling"  # "polling" or "webhook"
    webhook_url: str = ""  # public URL Telegram posts updates to (webhook mode)
    listen: str = "127.0.0.1"  # address the webhook server binds (behind a TLS proxy)
    port: int = 8443
    secret_token: str = ""  # X-Telegram-Bot-Api-Secret-Token expected on webhook requests

    @property
    def webhook_path(self) -> str:
        """The path the local webhook server listens on: the path of `webhook_url`."""
        return urlparse(self.webhook_url).path.lstrip("/")
