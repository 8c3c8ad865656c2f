"""Secrets out of what the bot prints and logs.

Database URLs are printed with their password masked (`mask_url`). Every log record passes
`Redact`, a filter on the root logger's handlers, before it is written: the secrets of the
config (the Telegram token, the Matrix password and access token, the database password, the
webhook secret) are replaced by `***`, and so is whatever looks like one of them without being
in the config: a Bot API token in a URL (httpx logs every request python-telegram-bot makes,
with the token in its path), a password in a URL, an `access_token=` parameter.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"

# scheme://user:password@host: the password, up to the last "@" before the host.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)([^\s/]*)(@)")
# A Telegram bot token: the bot's id, a colon and 35 characters of base64url.
_BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{30,}")
_ACCESS_TOKEN = re.compile(r"((?:access_token|password|secret_token)=)[^&\s\"']+", re.I)


def mask_url(url: str) -> str:
    """`postgresql+asyncpg://irl:s3cret@db/irl` -> `postgresql+asyncpg://irl:***@db/irl`."""
    return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), url)


class Redactor:
    """Replaces known secrets and secret-shaped text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole. Very short
        # values are left alone: masking "a" everywhere would mangle every line.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _BOT_TOKEN.sub(MASK, text)
        text = _ACCESS_TOKEN.sub(lambda m: m.group(1) + MASK, text)
        return mask_url(text)


class Redact(logging.Filter):
    """A handler filter: the record's message, exception and stack, redacted before any
    formatter sees them. (A filter on a handler sees the records of every logger; one on the
    root logger would miss those of python-telegram-bot, httpx and nio.)"""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        record.msg, record.args = self.redactor(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return True


def install(secrets: Iterable[str | None] = (), logger: logging.Logger | None = None) -> Redact:
    """Put a `Redact` filter on each handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    redact = Redact(Redactor(secrets))
    for handler in target.handlers:
        for old in [f for f in handler.filters if isinstance(f, Redact)]:
            handler.removeFilter(old)
        handler.addFilter(redact)
    return redact
