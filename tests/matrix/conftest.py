"""A real Synapse for the whole session, and factories for bots and members on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.matrix import (
    CoreSink,
    MatrixAdapter,
    MatrixMessenger,
    MatrixSettings,
    MemoryStateStore,
    StateStore,
)
from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.settings import CoreSettings
from bot.db.session import Database
from tests.matrix.mx_crypto_members import CryptoMember
from tests.matrix.mx_members import Member
from tests.matrix.mx_recorder import RecordingCore
from tests.matrix.mx_synapse import SynapseServer


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    server = SynapseServer(tmp_path_factory.mktemp("synapse"))
    server.start()
    yield server
    server.stop()


@dataclass
class Bot:
    adapter: MatrixAdapter
    core: RecordingCore  # the stand-in; with core_factory, whatever that returned
    store: StateStore
    settings: MatrixSettings

    @property
    def user_id(self) -> str:
        return self.settings.user_id


MakeBot = Callable[..., Awaitable[Bot]]


@pytest.fixture
async def make_bot(synapse: SynapseServer) -> AsyncIterator[MakeBot]:
    """`await make_bot()` -> a started bot on a fresh account with a recording core.

    Pass `settings=` / `store=` to restart an earlier bot, `unlimited=False` for an account
    under the homeserver's normal rate limits, and MatrixSettings fields as keywords.
    """
    started: list[MatrixAdapter] = []
    # What a stand-in core handled, per store: a bot restarted on the same store (the same
    # database) drops what the one before it handled, as the real core does.
    handled: dict[int, set[str]] = {}

    async def make(
        *, settings: MatrixSettings | None = None, store: StateStore | None = None,
        core_factory: Callable[[MatrixMessenger], CoreSink] | None = None,
        unlimited: bool = True, **overrides: Any,
    ) -> Bot:
        if settings is None:
            account = synapse.register(synapse.unique("bot"), unlimited=unlimited,
                                       displayname="IRL bot")
            settings = MatrixSettings(
                homeserver=synapse.url, user_id=account.user_id, password=account.password,
                dm_invite_timeout_s=overrides.pop("dm_invite_timeout_s", 5.0),
                sync_timeout_ms=overrides.pop("sync_timeout_ms", 5000), **overrides,
            )
        store = store if store is not None else MemoryStateStore()
        adapter = MatrixAdapter(settings, store)
        if core_factory is not None:
            core: Any = core_factory(adapter.messenger)
        else:
            core = RecordingCore()
            core.messenger = adapter.messenger
        if isinstance(core, RecordingCore):
            core.handled = handled.setdefault(id(store), set())
        adapter.bind(core)
        await adapter.start()
        started.append(adapter)
        return Bot(adapter, core, store, settings)

    yield make
    for adapter in started:
        await adapter.stop()


MakeMember = Callable[..., Awaitable[Member]]


@pytest.fixture
async def make_member(synapse: SynapseServer) -> AsyncIterator[MakeMember]:
    members: list[Member] = []

    async def make(name: str) -> Member:
        account = synapse.register(synapse.unique(name), displayname=name.capitalize())
        member = Member(synapse, account)
        await member.start()
        members.append(member)
        return member

    yield make
    for member in members:
        await member.close()


START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
async def matrix_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'irl.db'}")
    await db.migrate()
    yield db
    await db.dispose()


@dataclass
class RealCore:
    """The lead's core on a fresh SQLite database and a virtual clock, for `core_factory`."""

    db: Database
    clock: VirtualClock
    core: Core | None = None
    settings: CoreSettings = field(default_factory=CoreSettings)
    wall: Any = None  # the web server, for the live wall (tests/matrix/test_matrix_wall.py)

    def __call__(self, messenger: MatrixMessenger) -> Core:
        self.core = Core(self.db, {"matrix": messenger}, self.clock, self.settings,
                         wall=self.wall)
        return self.core


@pytest.fixture
def real_core(matrix_db: Database) -> RealCore:
    return RealCore(matrix_db, VirtualClock(START))


MakeCryptoMember = Callable[..., Awaitable[CryptoMember]]


@pytest.fixture
async def make_crypto_member(
    synapse: SynapseServer, tmp_path: Path
) -> AsyncIterator[MakeCryptoMember]:
    """`await make_crypto_member("alice")` -> a member with encryption on, as Element has it:
    a device of its own with a crypto store under tmp_path, syncing in the background."""
    members: list[CryptoMember] = []

    async def make(name: str) -> CryptoMember:
        account = synapse.register(synapse.unique(name), displayname=name.capitalize())
        member = CryptoMember(synapse, account, tmp_path / "crypto")
        await member.start()
        members.append(member)
        return member

    yield make
    for member in members:
        await member.close()
