"""Configuration: a TOML file read into frozen dataclasses; secrets may come from the
environment instead (IRL_TELEGRAM_TOKEN, IRL_MATRIX_PASSWORD, IRL_MATRIX_ACCESS_TOKEN,
IRL_DATABASE_URL). Nothing here is global: `load_config` returns a value."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.dates import parse_offsets
from bot.core.i18n import SUPPORTED_LANGUAGES

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///irl.db"


class ConfigError(Exception):
    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}")
        self.source, self.key, self.problem = source, key, problem


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = DEFAULT_DATABASE_URL


@dataclass(frozen=True)
class BotConfig:
    default_timezone: str = "Europe/Amsterdam"
    default_language: str = "en"
    reminder_offsets: tuple[int, ...] = (24 * 60, 2 * 60)  # minutes
    group_reminder: int = 24 * 60
    reminder_grace: timedelta = timedelta(hours=3)


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    base_url: str = "https://api.telegram.org/bot"
    mode: str = "polling"  # or "webhook"
    webhook_url: str = ""
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token: str = ""


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    password: str = ""
    access_token: str = ""
    device_name: str = "irlbot"
    organiser_power_level: int = 50
    dm_invite_timeout: timedelta = timedelta(minutes=2)
    allowed_inviters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    telegram: TelegramConfig | None = None
    matrix: MatrixConfig | None = None
    source: str = "(defaults)"


class _Section:
    def __init__(self, source: str, name: str, data: Mapping[str, Any], known: set[str]) -> None:
        self.source, self.name, self.data = source, name, data
        if not isinstance(data, Mapping):
            raise ConfigError(source, f"[{name}]", "must be a table")
        unknown = set(data) - known
        if unknown:
            raise ConfigError(source, f"[{name}] {sorted(unknown)[0]}", "unknown key")

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, f"[{self.name}] {key}", problem)

    def str(self, key: str, default: str = "", env: str | None = None) -> str:
        if env and os.environ.get(env):
            return os.environ[env]
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise self.error(key, "must be a string")
        return value

    def int(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, "must be a whole number")
        return value

    def duration(self, key: str, default: timedelta) -> timedelta:
        value = self.data.get(key)
        if value is None:
            return default
        try:
            (minutes,) = parse_offsets(str(value))
        except Exception:
            raise self.error(key, 'must be a duration like "3h" or "1d"') from None
        return timedelta(minutes=minutes)


def load_config(path: str | Path | None) -> Config:
    """Read the TOML file (or only defaults and the environment when path is None)."""
    source = str(path) if path else "(environment)"
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(source, "(file)", "not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, "(syntax)", str(exc)) from None
    unknown = set(raw) - {"database", "bot", "telegram", "matrix"}
    if unknown:
        raise ConfigError(source, f"[{sorted(unknown)[0]}]", "unknown section")

    db = _Section(source, "database", raw.get("database", {}), {"url"})
    database = DatabaseConfig(db.str("url", DEFAULT_DATABASE_URL, env="IRL_DATABASE_URL"))

    b = _Section(source, "bot", raw.get("bot", {}),
                 {"default_timezone", "default_language", "reminder_offsets", "group_reminder",
                  "reminder_grace"})
    tz = b.str("default_timezone", "Europe/Amsterdam")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise b.error("default_timezone", f"unknown timezone {tz!r}") from None
    language = b.str("default_language", "en")
    if language not in SUPPORTED_LANGUAGES:
        raise b.error("default_language", f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    offsets_raw = b.data.get("reminder_offsets", ["24h", "2h"])
    if not isinstance(offsets_raw, list) or not all(isinstance(o, str) for o in offsets_raw):
        raise b.error("reminder_offsets", 'must be a list like ["24h", "2h"]')
    try:
        offsets = tuple(parse_offsets(" ".join(offsets_raw))) if offsets_raw else ()
    except Exception:
        raise b.error("reminder_offsets", 'must be a list like ["24h", "2h"]') from None
    bot = BotConfig(
        default_timezone=tz, default_language=language, reminder_offsets=offsets,
        group_reminder=int(b.duration("group_reminder", timedelta(hours=24)).total_seconds() // 60),
        reminder_grace=b.duration("reminder_grace", timedelta(hours=3)),
    )

    telegram = None
    t = _Section(source, "telegram", raw.get("telegram", {}),
                 {"token", "base_url", "mode", "webhook_url", "listen", "port", "secret_token"})
    token = t.str("token", env="IRL_TELEGRAM_TOKEN")
    if token:
        mode = t.str("mode", "polling")
        if mode not in ("polling", "webhook"):
            raise t.error("mode", 'must be "polling" or "webhook"')
        telegram = TelegramConfig(
            token=token, base_url=t.str("base_url", "https://api.telegram.org/bot"), mode=mode,
            webhook_url=t.str("webhook_url"), listen=t.str("listen", "127.0.0.1"),
            port=t.int("port", 8443), secret_token=t.str("secret_token"))
        if mode == "webhook" and not telegram.webhook_url:
            raise t.error("webhook_url", 'is needed when mode = "webhook"')

    matrix = None
    m = _Section(source, "matrix", raw.get("matrix", {}),
                 {"homeserver", "user_id", "password", "access_token", "device_name",
                  "organiser_power_level", "dm_invite_timeout", "allowed_inviters"})
    homeserver = m.str("homeserver")
    if homeserver:
        user_id = m.str("user_id")
        if not user_id.startswith("@") or ":" not in user_id:
            raise m.error("user_id", "must look like @irlbot:example.org")
        password = m.str("password", env="IRL_MATRIX_PASSWORD")
        access_token = m.str("access_token", env="IRL_MATRIX_ACCESS_TOKEN")
        if not password and not access_token:
            raise m.error("password", "or access_token is needed")
        inviters = m.data.get("allowed_inviters", [])
        if not isinstance(inviters, list) or not all(isinstance(i, str) for i in inviters):
            raise m.error("allowed_inviters", 'must be a list like ["@alice:example.org", '
                                              '"example.org"]')
        matrix = MatrixConfig(
            homeserver=homeserver, user_id=user_id, password=password, access_token=access_token,
            device_name=m.str("device_name", "irlbot"),
            organiser_power_level=m.int("organiser_power_level", 50),
            dm_invite_timeout=m.duration("dm_invite_timeout", timedelta(minutes=2)),
            allowed_inviters=tuple(inviters))
    return Config(database=database, bot=bot, telegram=telegram, matrix=matrix, source=source)
