"""The `[matrix]` section of the config, as `bot.config.load_config` checked and built it.

No checks here (one place validates: bot/config.py) and no heavy imports (`irlbot migrate`
reads the config without loading matrix-nio). The fields below `allowed_inviters` have no
key in the file: their defaults serve production, tests set them directly."""

from __future__ import annotations

from dataclasses import dataclass

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
    # A room that is no chapter (no /setup, no /link) this long after the bot first saw it
    # there is left; direct rooms never are.
    leave_unbound_after_s: float = 7 * 86_400.0
    # How often the bot looks for such rooms.
    unbound_sweep_s: float = 3_600.0
    sync_timeout_ms: int = 30_000
    # Events per room in one sync; more than this is back-filled from /messages.
    timeline_limit: int = 50
    # How long one outgoing call keeps retrying a lost connection before it gives up.
    send_retry_s: float = 300.0
    # Put ✅ 🤔 ❌ under RSVP messages so members can tap them.
    seed_reactions: bool = True
    # For the little the adapter says itself, where it doesn't know a chapter's language.
    language: str = DEFAULT_LANGUAGE
    # The device's crypto store (its identity keys and the rooms' keys): a directory kept
    # across restarts and deploys. None: encryption off (rooms with it on are told so).
    store_dir: str | None = None
    # A message that can't be decrypted this long after it came (its key never arrived) is
    # answered once with how to fix it.
    undecryptable_after_s: float = 120.0

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]
