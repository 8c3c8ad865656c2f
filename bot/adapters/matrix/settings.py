"""The `[matrix]` section of the config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from bot.core.i18n import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class MatrixSettings:
    homeserver: str  # e.g. "https://matrix.example.org"
    user_id: str  # "@irlbot:example.org"
    password: str | None = None
    access_token: str | None = None
    device_name: str = "irlbot"
    organiser_power_level: int = 50
    # How long send_dm waits for a person to accept a fresh invite before it gives up.
    dm_invite_timeout_s: float = 60.0
    # Whose invites the bot accepts: "@user:server" or a server name; empty = everyone.
    allowed_inviters: tuple[str, ...] = ()
    sync_timeout_ms: int = 30_000
    # Events per room in one sync; more than this is back-filled from /messages.
    timeline_limit: int = 50
    # How long one outgoing call keeps retrying a lost connection before it gives up.
    send_retry_s: float = 300.0
    # Put ✅ 🤔 ❌ under RSVP messages so members can tap them.
    seed_reactions: bool = True
    # For the little the adapter says itself, where it doesn't know a chapter's language.
    language: str = DEFAULT_LANGUAGE

    def __post_init__(self) -> None:
        if not self.homeserver or not self.user_id:
            raise ValueError("[matrix] needs homeserver and user_id")
        if not (self.password or self.access_token):
            raise ValueError("[matrix] needs password or access_token")
        if not self.user_id.startswith("@") or ":" not in self.user_id:
            raise ValueError(f"[matrix] user_id must look like @name:server, not {self.user_id!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MatrixSettings:
        """Builds settings from a parsed TOML table; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown [matrix] keys: {', '.join(sorted(unknown))}")
        values = dict(data)
        if "allowed_inviters" in values:
            values["allowed_inviters"] = tuple(values["allowed_inviters"])
        return cls(**values)

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]
