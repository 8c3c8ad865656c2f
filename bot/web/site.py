"""What every part of the web server shares: its settings, the database (an engine of the web
server's own event loop), the bot's readiness, the templates, and the live events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.clock import SystemClock
from bot.core.ports import Clock
from bot.db.session import Database
from bot.readiness import Readiness
from bot.web.metrics import Prometheus
from bot.web.settings import WebSettings

TEMPLATES = Path(__file__).resolve().parent / "templates"


def templates() -> Environment:
    """Jinja2 with autoescaping on for every HTML template: nothing a member wrote can become
    markup."""
    return Environment(loader=FileSystemLoader(TEMPLATES),
                       autoescape=select_autoescape(["html", "xml"]), enable_async=False)


@dataclass
class Site:
    settings: WebSettings
    db: Database
    readiness: Readiness | None
    jinja: Environment = field(default_factory=templates)
    # Live events for the wall (bot/web/wall.py); set by the server once its loop runs.
    loop: asyncio.AbstractEventLoop | None = None
    listeners: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    # The process's metrics (the core counts into them; /metrics renders them).
    metrics: Prometheus = field(default_factory=Prometheus)
    clock: Clock = field(default_factory=SystemClock)  # "upcoming" and "past" on the pages
    photo_dir: Path | None = None  # the wall's photos (bot/web/photos.py)

    def url(self, path: str) -> str:
        return self.settings.public_url.rstrip("/") + path

    def render(self, name: str, **values: Any) -> str:
        return self.jinja.get_template(name).render(site=self, **values)
