"""The `[telegram]` section of the config."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts as secret_token


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

    def __post_init__(self) -> None:
        if ":" not in self.token:
            raise ValueError("telegram.token must look like 123456:ABC… (from @BotFather)")
        if self.mode not in ("polling", "webhook"):
            raise ValueError('telegram.mode must be "polling" or "webhook"')
        if self.mode == "webhook":
            if not self.webhook_url:
                raise ValueError("telegram.webhook_url is required in webhook mode")
            if not _SECRET.fullmatch(self.secret_token):
                raise ValueError(
                    "telegram.secret_token is required in webhook mode: 1-256 characters "
                    "A-Z, a-z, 0-9, _ and -"
                )

    @property
    def webhook_path(self) -> str:
        """The path the local webhook server listens on: the path of `webhook_url`."""
        return urlparse(self.webhook_url).path.lstrip("/")
