"""What the operator's Prometheus scrapes at /metrics while members use the bot, and the
bounds on what the web server takes from one client."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from nio import ErrorResponse
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.matrix import MatrixAdapter, MatrixSettings, MemoryStateStore, calls
from bot.adapters.telegram import FloodLimits
from bot.clock import VirtualClock
from bot.core.app import Core
from bot.core.messages import UserRef
from bot.core.settings import CoreSettings
from bot.db.models import OutboxKind, OutboxMessage, OutboxStatus
from bot.db.session import Database
from bot.web.limits import Buckets
from bot.web.metrics import Prometheus
from bot.web.server import WebServer
from bot.web.settings import WebSettings
from tests.fakes import PLATFORM, Chat, RecordingMessenger
from tests.helpers import local
from tests.telegram.fake_bot_api import FakeBotAPI, FakeLimits, Window
from tests.telegram.tg_support import RecordingCore, make_adapter
from tests.web.conftest import free_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of the text format, by name and labels (the prometheus-client parser)."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(server: WebServer) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(server.url + "/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=")
        return parse(await resp.text())


def serve(db_url: str, metrics: Prometheus | None = None, **settings: float) -> WebServer:
    port = free_port()
    server = WebServer(WebSettings(port=port, public_url=f"http://127.0.0.1:{port}",
                                   **settings),  # type: ignore[arg-type]
                       db_url, metrics=metrics)
    server.start()
    return server


@pytest.fixture
def metrics(clock: VirtualClock) -> Prometheus:
    return Prometheus(clock)


@pytest.fixture
def counted(db: Database, messenger: RecordingMessenger, clock: VirtualClock,
            metrics: Prometheus) -> Chat:
    """The group chat, on a core that counts into `metrics`."""
    core = Core(db, {messenger.platform: messenger}, clock, CoreSettings(), metrics=metrics)
    return Chat(core, messenger, clock)


@pytest.fixture
def ops(db_url: str, metrics: Prometheus) -> Iterator[WebServer]:
    """The web server, serving the same metrics the core counts into."""
    server = serve(db_url, metrics)
    yield server
    server.stop()


async def test_commands_replies_reminders_and_refused_dms_show_in_metrics(
        counted: Chat, ops: WebServer, db: Database) -> None:
    chat = counted
    before = await scrape(ops)
    assert value(before, "irl_commands_total", command="help", platform=PLATFORM) == 0
    assert value(before, "irl_outbox_pending") == 0

    await chat.say("alice", "/setup SMC; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(hours=10))}")
    await chat.dm("bob", "/start")
    await chat.say("bob", "/rsvp yes")
    await chat.say("carol", "/rsvp yes")  # carol never started the bot: no DM for her
    await chat.say("dave", "/help")
    await chat.say("dave", "/hlep")
    after = await scrape(ops)
    for command, times in (("setup", 1), ("newmeetup", 1), ("start", 1), ("rsvp", 2),
                           ("help", 1), ("unknown", 1)):
        assert value(after, "irl_commands_total", command=command, platform=PLATFORM) == times
    # Every one of the 7 commands was answered, each answer timed.
    assert value(after, "irl_reply_latency_seconds_count", platform=PLATFORM) == 7
    assert value(after, "irl_reply_latency_seconds_bucket", platform=PLATFORM, le="+Inf") == 7
    assert value(after, "irl_reminders_sent_total") == 0

    # The bot was down when the 2-hour reminders fell due; it is back half an hour late.
    chat.clock.advance(timedelta(hours=8, minutes=30))
    await chat.core.run_due()
    assert [s.to for s in chat.messenger.sent if s.text.startswith("Reminder")] == ["bob"]
    later = await scrape(ops)
    assert value(later, "irl_reminders_sent_total") == 1  # bob's
    assert value(later, "irl_reminder_lateness_seconds_count") == 1
    assert value(later, "irl_reminder_lateness_seconds_sum") == 30 * 60
    assert value(later, "irl_reminder_lateness_seconds_bucket", le="1800.0") == 1
    assert value(later, "irl_reminder_lateness_seconds_bucket", le="600.0") == 0
    assert value(later, "irl_reminders_failed_total") == 1  # carol's
    assert value(later, "irl_dms_refused_total", platform=PLATFORM) == 1
    assert value(later, "irl_outbox_pending") == 0
    assert value(later, "irl_outbox_oldest_pending_age_seconds") == 0


async def test_outbox_depth_and_age_are_read_from_the_database(
        ops: WebServer, db: Database, clock: VirtualClock) -> None:
    # Two messages owed on Matrix, which no copy is serving, queued 10 and 4 minutes ago.
    async with db.transaction() as s:
        for minutes in (10, 4):
            s.add(OutboxMessage(kind=OutboxKind.TEXT, platform="matrix", chat_key="matrix:!r",
                                payload="{}", status=OutboxStatus.PENDING, attempts=0,
                                created_at=clock.now() - timedelta(minutes=minutes)))
        s.add(OutboxMessage(kind=OutboxKind.TEXT, platform="matrix", chat_key="matrix:!r",
                            payload="{}", status=OutboxStatus.SENT, attempts=1,
                            created_at=clock.now() - timedelta(hours=5)))
    samples = await scrape(ops)
    assert value(samples, "irl_outbox_pending") == 2
    assert value(samples, "irl_outbox_oldest_pending_age_seconds") == 600


async def test_outbox_gauges_say_unknown_when_the_database_is_away(tmp_path) -> None:
    server = serve(f"sqlite+aiosqlite:///{tmp_path / 'nothing-here' / 'irl.db'}")
    try:
        samples = await scrape(server)
    finally:
        server.stop()
    assert math.isnan(value(samples, "irl_outbox_pending"))
    assert value(samples, "irl_commands_total", command="help", platform=PLATFORM) == 0


@pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")
async def test_telegram_429s_count_as_rate_limited_retries() -> None:
    metrics = Prometheus()
    limits = FakeLimits(overall=None, per_chat=Window(1, 0.5), per_group=None)
    async with FakeBotAPI(limits=limits) as fake:
        adapter = make_adapter(fake, FloodLimits(None, None, None))
        core = RecordingCore()
        core.metrics = metrics  # type: ignore[attr-defined]  # what Core.metrics gives
        adapter.bind(core)
        await adapter.start()
        try:
            alice = fake.add_user("Alice")
            fake.start_bot(alice)
            for n in range(3):
                await adapter.messenger.send_dm(UserRef("telegram", str(alice.id)), f"dm {n}")
        finally:
            await adapter.stop()
    assert [r.status for r in fake.calls("sendMessage")] == [200, 429, 200, 429, 200]
    samples = parse(metrics.text())
    assert value(samples, "irl_platform_retries_total", platform="telegram",
                 reason="rate_limited") == 2


async def test_matrix_limit_exceeded_counts_as_a_rate_limited_retry(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(calls, "on_retry", calls.on_retry)  # put back after the test
    metrics = Prometheus()
    adapter = MatrixAdapter(MatrixSettings(homeserver="http://127.0.0.1:9",
                                           user_id="@irlbot:example.org", password="x",
                                           store_dir=str(tmp_path / "store")),
                            MemoryStateStore())
    core = RecordingCore()
    core.metrics = metrics  # type: ignore[attr-defined]
    adapter.bind(core)  # type: ignore[arg-type]
    answers = [ErrorResponse("Too Many Requests", "M_LIMIT_EXCEEDED", retry_after_ms=10),
               ErrorResponse("Too Many Requests", "M_LIMIT_EXCEEDED", retry_after_ms=10),
               "sent"]

    async def send() -> object:
        return answers.pop(0)

    assert await calls.call("send", send) == "sent"  # type: ignore[arg-type]
    samples = parse(metrics.text())
    assert value(samples, "irl_platform_retries_total", platform="matrix",
                 reason="rate_limited") == 2
    await adapter.client.close()


# --- request bounds ------------------------------------------------------------------------

@pytest.fixture
async def strict(db_url: str) -> AsyncIterator[WebServer]:
    """A server allowing each client 2 requests a second, 5 at once."""
    server = serve(db_url, requests_per_second=2, request_burst=5)
    yield server
    server.stop()


async def test_a_client_over_its_rate_gets_429_with_retry_after(strict: WebServer) -> None:
    async with aiohttp.ClientSession() as http:
        async def get(path: str, **headers: str) -> aiohttp.ClientResponse:
            async with http.get(strict.url + path, headers=headers) as resp:
                await resp.read()
                return resp

        answers = [await get("/healthz") for _ in range(12)]
        statuses = [r.status for r in answers]
        assert statuses[:5] == [200] * 5  # the burst
        assert statuses.count(429) >= 5
        refused = next(r for r in answers if r.status == 429)
        assert int(refused.headers["Retry-After"]) >= 1
        # Another visitor behind the same reverse proxy (on this machine) has a bucket of
        # their own; the proxy says who in X-Forwarded-For.
        assert (await get("/healthz", **{"X-Forwarded-For": "203.0.113.7"})).status == 200
        # Unknown paths count too, and once the bucket has refilled they are a plain 404.
        await asyncio.sleep(float(refused.headers["Retry-After"]))
        assert (await get("/no/such/page")).status == 404
        samples = parse(await (await http.get(strict.url + "/metrics")).text())
    assert value(samples, "irl_web_rate_limited_total") == statuses.count(429)


async def test_unknown_paths_and_methods_are_refused(ops: WebServer) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/nope", "/metrics/extra", "/healthz/../../etc/passwd", "/%00"):
            async with http.get(ops.url + path) as resp:
                assert resp.status == 404, path
        async with http.post(ops.url + "/metrics", data=b"x") as resp:
            assert resp.status == 405


def test_buckets_refill_and_forget_quiet_clients() -> None:
    now = [0.0]
    buckets = Buckets(rate=2.0, burst=3, now=lambda: now[0], max_clients=100)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token takes half a second
    assert buckets.take("b") == 0.0  # another client: a bucket of its own
    now[0] += 0.5
    assert buckets.take("a") == 0.0
    # A flood from many addresses doesn't grow the table without end.
    for n in range(1000):
        now[0] += 0.001
        buckets.take(f"10.0.{n // 256}.{n % 256}")
    assert len(buckets) <= 100


def test_the_readme_lists_every_metric() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(irl_[a-z_]+)", readme, re.MULTILINE))
    served = set()
    for family in text_string_to_metric_families(Prometheus().text()):
        if not family.name.endswith("_created"):  # when a counter started: the library's
            served.add(family.name + ("_total" if family.type == "counter" else ""))
    assert listed == served
