"""The web server on a free port of loopback, on a migrated SQLite database."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.session import Database
from bot.readiness import Readiness
from bot.web.server import WebServer
from bot.web.settings import WebSettings
from tests.fakes import Chat, RecordingMessenger


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def readiness() -> Readiness:
    return Readiness()


@pytest.fixture
def web(db_url: str, readiness: Readiness, clock: VirtualClock,
        tmp_path: Path) -> Iterator[WebServer]:
    """On the tests' virtual clock (the one `chat` moves), so "upcoming" agrees with the bot."""
    port = free_port()
    server = WebServer(WebSettings(port=port, public_url=f"http://127.0.0.1:{port}"), db_url,
                       readiness, clock=clock)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def site_chat(db: Database, messenger: RecordingMessenger, clock: VirtualClock,
              web: WebServer) -> Chat:
    """The group chat of tests/fakes.py on the database `web` serves, with the server on: the
    core puts the pages' links in what it says, as `irlbot run` does with a [web] section."""
    core = Core(db, {messenger.platform: messenger}, clock,
                CoreSettings(public_url=web.settings.public_url))
    return Chat(core, messenger, clock)
