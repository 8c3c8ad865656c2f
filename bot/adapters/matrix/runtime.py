"""Building the adapter from the `[matrix]` config section, for `irlbot run`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.adapters.matrix.adapter import MatrixAdapter
from bot.adapters.matrix.inbound import CoreSink
from bot.adapters.matrix.settings import MatrixSettings
from bot.adapters.matrix.state import DbStateStore
from bot.core.i18n import DEFAULT_LANGUAGE

if TYPE_CHECKING:
    from bot.config import MatrixConfig
    from bot.db.session import Database


def settings_from_config(cfg: MatrixConfig, language: str = DEFAULT_LANGUAGE) -> MatrixSettings:
    return MatrixSettings(
        homeserver=cfg.homeserver,
        user_id=cfg.user_id,
        password=cfg.password or None,
        access_token=cfg.access_token or None,
        device_name=cfg.device_name,
        organiser_power_level=cfg.organiser_power_level,
        dm_invite_timeout_s=cfg.dm_invite_timeout.total_seconds(),
        allowed_inviters=tuple(cfg.allowed_inviters),
        language=language,
    )


def build_matrix(cfg: MatrixConfig, core: CoreSink, db: Database,
                 language: str = DEFAULT_LANGUAGE) -> MatrixAdapter:
    """The adapter, its state in the database's adapter_state table, bound to the core."""
    return MatrixAdapter(settings_from_config(cfg, language), DbStateStore(db), core)
