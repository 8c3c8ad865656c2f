"""Configuration: a TOML file read, checked and turned into the settings the core and the
adapters take; secrets may come from the environment instead (IRL_TELEGRAM_TOKEN,
IRL_MATRIX_PASSWORD, IRL_MATRIX_ACCESS_TOKEN, IRL_DATABASE_URL). This is the one place that
validates them: every mistake is a ConfigError whose text is one line naming the file and the
key. Nothing here is global: `load_config` returns a value.

The adapters' settings modules import nothing heavy, so `irlbot migrate` stays light."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.adapters.matrix.settings import MatrixSettings
from bot.adapters.telegram.settings import TelegramSettings
from bot.core.dates import parse_duration, parse_offsets
from bot.core.i18n import SUPPORTED_LANGUAGES
from bot.core.settings import CoreSettings
from bot.web.settings import WebSettings

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///irl.db"
DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")

# What @BotFather hands out: the bot's numeric id, a colon, then the secret part.
_TELEGRAM_TOKEN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
_TELEGRAM_TOKEN_SHAPE = ("must look like 123456:ABC-DEF1234 (from @BotFather: digits, a colon, "
                         "then letters, digits, _ and -)")
# What setWebhook accepts as secret_token.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_WEBHOOK_SECRET_SHAPE = "1-256 characters A-Z, a-z, 0-9, _ and -"
_SERVER_NAME = r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?"
_MATRIX_SERVER = re.compile(_SERVER_NAME)
_MATRIX_USER = re.compile(r"@[^\s:]+:" + _SERVER_NAME)
_LONGEST_DURATION = timedelta(days=30)


class ConfigError(ValueError):
    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}")
        self.source, self.key, self.problem = source, key, problem


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = DEFAULT_DATABASE_URL
    # PostgreSQL, several copies: how often a waiting copy tries to take the lead.
    leader_poll_seconds: float = 2.0
    # PostgreSQL: the connections this process keeps open, and never more (bot/db/session.py).
    connections: int = 8


@dataclass(frozen=True)
class Config:
    core: CoreSettings = field(default_factory=CoreSettings)
    telegram: TelegramSettings | None = None
    matrix: MatrixSettings | None = None
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    web: WebSettings | None = None  # None: no [web] section, no web server
    source: str = "(defaults)"


class _Section:
    """One `[table]` of the file: typed reads whose errors name the key."""

    def __init__(self, source: str, name: str, data: object, known: set[str]) -> None:
        self.source, self.name = source, name
        if not isinstance(data, Mapping):
            raise ConfigError(source, f"[{name}]", "must be a table")
        self.data: Mapping[str, Any] = data
        unknown = set(data) - known
        if unknown:
            raise ConfigError(source, f"[{name}] {sorted(unknown)[0]}",
                              f"unknown key (known: {', '.join(sorted(known))})")

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, f"[{self.name}] {key}", problem)

    def text(self, key: str, default: str = "") -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise self.error(key, "must be a string")
        return value

    def secret(self, key: str, env: str) -> tuple[str, str]:
        """The value and the name to blame for it: the environment wins over the file."""
        if os.environ.get(env):
            return os.environ[env], f"[{self.name}] {key} from {env}"
        return self.text(key), f"[{self.name}] {key}"

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.error(key, f"must be a whole number from {low} to {high}")
        return value

    def duration(self, key: str, default: timedelta) -> timedelta:
        value = self.data.get(key)
        if value is None:
            return default
        try:
            result = parse_duration(value) if isinstance(value, str) else None
        except ValueError:
            result = None
        if result is None or not timedelta(0) < result <= _LONGEST_DURATION:
            raise self.error(key, 'must be a duration like "3h", "1d" or "90m" (at most 30 days)')
        return result

    def strings(self, key: str, example: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"must be a list like {example}")
        return tuple(value)

    def url(self, key: str, default: str = "", what: str = "") -> str:
        value = self.text(key, default)
        if value and not _is_http_url(value):
            raise self.error(key, f"must be an https:// (or http://) URL{what}, not {value!r}")
        return value


def _is_http_url(value: str) -> bool:
    try:
        parts = urlparse(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is no number
    except ValueError:
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname)


def load_config(path: str | Path | None) -> Config:
    """Read the TOML file (or only defaults and the environment when path is None)."""
    source = str(path) if path else "(environment)"
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(source, "(file)", "not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(source, "(file)", f"can't be read: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, "(syntax)", str(exc)) from None
    sections = {"database", "bot", "telegram", "matrix", "web"}
    unknown = set(raw) - sections
    if unknown:
        raise ConfigError(source, f"[{sorted(unknown)[0]}]",
                          f"unknown section (known: {', '.join(sorted(sections))})")
    core = _core(_Section(source, "bot", raw.get("bot", {}), {
        "default_timezone", "default_language", "reminder_offsets", "group_reminder",
        "reminder_grace", "send_lease_seconds", "sweep_seconds", "shutdown_deadline_seconds",
        "commands_per_minute"}))
    web = (_web(_Section(source, "web", raw["web"], {"listen", "public_url", "wall_blocklist",
                                                     "photo_dir"}))
           if "web" in raw else None)
    if web is not None:  # the core puts the pages' links in announcements, /meetups, /setup
        core = dataclasses.replace(core, public_url=web.public_url)
    return Config(
        core=core,
        telegram=_telegram(_Section(source, "telegram", raw.get("telegram", {}), {
            "token", "base_url", "mode", "webhook_url", "listen", "port", "secret_token"})),
        matrix=_matrix(_Section(source, "matrix", raw.get("matrix", {}), {
            "homeserver", "user_id", "password", "access_token", "device_name",
            "organiser_power_level", "dm_invite_timeout", "allowed_inviters",
            "leave_unbound_after", "store_dir"}),
            core.default_language),
        database=_database(_Section(source, "database", raw.get("database", {}),
                                    {"url", "leader_poll_seconds", "connections"})),
        web=web,
        source=source,
    )


def listen_address(text: str) -> tuple[str, int] | None:
    """`127.0.0.1:8080` -> ("127.0.0.1", 8080); None when it isn't host:port."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host.strip("[]"), int(port)


def _web(s: _Section) -> WebSettings:
    listen = s.text("listen", "127.0.0.1:8080")
    address = listen_address(listen)
    if address is None:
        raise s.error("listen", f'must be host:port like "127.0.0.1:8080", not {listen!r}')
    host, port = address
    public_url = s.url("public_url", f"http://{listen}", ' like "https://irl.example.org"')
    blocklist = s.data.get("wall_blocklist", [])
    if not isinstance(blocklist, list) or not all(isinstance(w, str) and w.strip()
                                                  for w in blocklist):
        raise s.error("wall_blocklist", 'must be a list of words like ["spam", "casino"]')
    photo_dir = s.text("photo_dir", "")
    return WebSettings(host=host, port=port, public_url=public_url.rstrip("/"),
                       wall_blocklist=tuple(w.strip().lower() for w in blocklist),
                       photo_dir=Path(photo_dir) if photo_dir else None)


def _database(s: _Section) -> DatabaseConfig:
    url, key = s.secret("url", env="IRL_DATABASE_URL")
    url = url or DEFAULT_DATABASE_URL
    if not url.startswith(tuple(f"{driver}://" for driver in DATABASE_DRIVERS)):
        raise ConfigError(s.source, key, "must start with " + " or ".join(
            f"{driver}://" for driver in DATABASE_DRIVERS))
    return DatabaseConfig(url, float(s.integer("leader_poll_seconds", 2, 1, 60)),
                          s.integer("connections", DatabaseConfig.connections, 2, 100))


def _core(s: _Section) -> CoreSettings:
    tz = s.text("default_timezone", "Europe/Amsterdam")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise s.error("default_timezone", f"unknown timezone {tz!r}") from None
    language = s.text("default_language", "en")
    if language not in SUPPORTED_LANGUAGES:
        raise s.error("default_language", f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    offsets_example = '["24h", "2h"]'
    offsets_raw = s.strings("reminder_offsets", offsets_example) if "reminder_offsets" in s.data \
        else ("24h", "2h")
    try:
        offsets = tuple(parse_offsets(" ".join(offsets_raw))) if offsets_raw else ()
    except Exception:
        raise s.error("reminder_offsets", f"must be a list like {offsets_example} "
                                          "(each 1 minute to 30 days)") from None
    group = s.duration("group_reminder", timedelta(hours=24))
    return CoreSettings(
        default_timezone=tz, default_language=language, reminder_offsets=offsets,
        group_reminder_offset=int(group.total_seconds() // 60),
        reminder_grace=s.duration("reminder_grace", timedelta(hours=3)),
        send_lease=timedelta(seconds=s.integer("send_lease_seconds", 30, 1, 3600)),
        claim_lease=timedelta(seconds=s.integer("send_lease_seconds", 30, 1, 3600)),
        sweep_every=timedelta(seconds=s.integer("sweep_seconds", 60, 1, 3600)),
        shutdown_deadline=timedelta(seconds=s.integer("shutdown_deadline_seconds", 10, 0, 3600)),
        commands_per_minute=s.integer("commands_per_minute", 10, 0, 1000),
    )


def _telegram(s: _Section) -> TelegramSettings | None:
    """Every key is checked; the section is on when there is a token."""
    token, token_key = s.secret("token", env="IRL_TELEGRAM_TOKEN")
    if token and not _TELEGRAM_TOKEN.fullmatch(token):
        raise ConfigError(s.source, token_key, _TELEGRAM_TOKEN_SHAPE)
    mode = s.text("mode", "polling")
    if mode not in ("polling", "webhook"):
        raise s.error("mode", 'must be "polling" or "webhook"')
    base_url = s.url("base_url", "https://api.telegram.org/bot")
    if not base_url:
        raise s.error("base_url", "must be an https:// (or http://) URL")
    webhook_url = s.url("webhook_url", what=" that Telegram can reach")
    listen = s.text("listen", "127.0.0.1")
    if not listen:
        raise s.error("listen", 'must be an address to listen on, e.g. "127.0.0.1"')
    port = s.integer("port", 8443, 1, 65535)
    secret_token = s.text("secret_token")
    if secret_token and not _WEBHOOK_SECRET.fullmatch(secret_token):
        raise s.error("secret_token", f"must be {_WEBHOOK_SECRET_SHAPE}")
    if not token:
        return None
    if mode == "webhook":
        if not webhook_url:
            raise s.error("webhook_url", 'is needed when mode = "webhook" (the public https:// '
                                         "URL Telegram posts updates to)")
        if not secret_token:
            raise s.error("secret_token",
                          f'is needed when mode = "webhook" ({_WEBHOOK_SECRET_SHAPE})')
    return TelegramSettings(token=token, base_url=base_url, mode=mode, webhook_url=webhook_url,
                            listen=listen, port=port, secret_token=secret_token)


# The bot's Matrix device keys and room keys (docs/matrix.md); a relative path is taken from
# the config file's folder.
DEFAULT_MATRIX_STORE = "irl-matrix-store"


def _matrix(s: _Section, language: str) -> MatrixSettings | None:
    """Every key is checked; the section is on when there is a homeserver."""
    homeserver = s.url("homeserver", what=' like "https://matrix.example.org"')
    user_id = s.text("user_id")
    if user_id and not _MATRIX_USER.fullmatch(user_id):
        raise s.error("user_id", f"must look like @irlbot:example.org, not {user_id!r}")
    password, _ = s.secret("password", env="IRL_MATRIX_PASSWORD")
    access_token, _ = s.secret("access_token", env="IRL_MATRIX_ACCESS_TOKEN")
    device_name = s.text("device_name", "irlbot")
    if not device_name:
        raise s.error("device_name", "must not be empty")
    power_level = s.integer("organiser_power_level", 50, 0, 100)
    dm_invite_timeout = s.duration("dm_invite_timeout", timedelta(minutes=2))
    inviters = s.strings("allowed_inviters", '["@alice:example.org", "example.org"]')
    leave_after = s.duration("leave_unbound_after", timedelta(days=7))
    store_dir = s.text("store_dir", DEFAULT_MATRIX_STORE)
    if not store_dir:
        raise s.error("store_dir", "must not be empty: the bot's encryption keys live there")
    if not Path(store_dir).is_absolute() and s.source != "(environment)":
        store_dir = str(Path(s.source).resolve().parent / store_dir)
    for inviter in inviters:
        if not (_MATRIX_USER.fullmatch(inviter) or _MATRIX_SERVER.fullmatch(inviter)):
            raise s.error("allowed_inviters", f"{inviter!r} is neither a user id like "
                                              '"@alice:example.org" nor a server like '
                                              '"example.org"')
    if not homeserver:
        return None
    if not user_id:
        raise s.error("user_id", "is needed with a homeserver (like @irlbot:example.org)")
    if not password and not access_token:
        raise s.error("password", "or access_token is needed (or IRL_MATRIX_PASSWORD or "
                                  "IRL_MATRIX_ACCESS_TOKEN in the environment)")
    return MatrixSettings(
        homeserver=homeserver, user_id=user_id, password=password or None,
        access_token=access_token or None, device_name=device_name,
        organiser_power_level=power_level,
        dm_invite_timeout_s=dm_invite_timeout.total_seconds(), allowed_inviters=inviters,
        leave_unbound_after_s=leave_after.total_seconds(), language=language,
        store_dir=store_dir)
