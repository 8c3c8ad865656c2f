"""Composition root: read the config, build the engine, the core, the scheduler and the
adapters, and run them under one event loop. `irlbot demo | run | migrate`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import stat
import sys
import tempfile
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.clock import SystemClock, VirtualClock
from bot.config import Config, ConfigError, listen_address, load_config
from bot.core.app import Core
from bot.core.ports import Messenger
from bot.core.settings import CoreSettings
from bot.db.session import Database, database_unreachable
from bot.heap import settle_heap
from bot.leadership import MAX_PAUSE, Leadership, NotAlone
from bot.readiness import Readiness
from bot.redact import install as redact_logs
from bot.redact import mask_url
from bot.waiting import wait_set
from bot.web.settings import WebSettings

if TYPE_CHECKING:
    from bot.schedule import Wakeups

log = logging.getLogger("irlbot")

# After the shutdown deadline: how long a send in hand may take before the process goes anyway.
SHUTDOWN_GRACE = 3.0
ADAPTER_STOP_TIMEOUT = 5.0


class Adapter(Protocol):
    """What the composition root needs of a platform adapter."""

    @property
    def messenger(self) -> Messenger: ...

    def bind(self, core: Core) -> None: ...

    async def start(self) -> None: ...

    async def stop_input(self) -> None:
        """Stop reading from the platform; handle what was read (shutting down)."""

    async def pause_input(self) -> None:
        """Stop reading the account (this copy lost its lead); sends still go."""

    async def resume_input(self) -> None:
        """Read the account again (this copy leads again)."""

    async def stop(self) -> None: ...


# --- demo ----------------------------------------------------------------------------------

async def demo(db_path: str | None, language: str, lines_in: Sequence[str] | None,
               web: WebSettings | None = None) -> int:
    from bot.adapters.console.chat import ConsoleChat
    from bot.adapters.console.messenger import GROUP, ROOM, ConsoleMessenger
    from bot.web.metrics import Prometheus

    if db_path:
        db_file = Path(db_path).resolve()
        data_dir = db_file.parent
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="irl-demo-"))
        db_file = data_dir / "demo.db"
    db_file.parent.mkdir(parents=True, exist_ok=True)

    def write(line: str) -> None:
        print(line, flush=True)

    db = Database(f"sqlite+aiosqlite:///{db_file}")
    await db.migrate()
    clock = VirtualClock()
    codes: list[str] = []
    messenger = ConsoleMessenger(write, data_dir / "files", GROUP, codes)
    room = ConsoleMessenger(write, data_dir / "files", ROOM, codes)
    settings = CoreSettings(default_language=language,
                            public_url=web.public_url if web is not None else None)
    metrics = Prometheus(clock)  # counted always; served at /metrics with --web
    server = None
    if web is not None:
        from bot.web.server import WebServer

        server = WebServer(web, f"sqlite+aiosqlite:///{db_file}", metrics=metrics, clock=clock)
    core = Core(db, {messenger.platform: messenger, room.platform: room}, clock, settings,
                metrics=metrics, wall=server)
    chat = ConsoleChat(core, messenger, clock, write, settings.default_timezone, room)
    interactive = lines_in is None
    if server is not None:
        server.start()
    write(f"-- IRL demo: a chapter's group and room on a virtual clock. Data: {data_dir}")
    if server is not None:
        write(f"serving {server.url}")
    if interactive:
        write(f"-- e.g. `alice: /setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; {language}`, "
              "`alice (dm): /start`, `:advance 25h`, `:quit`")
    try:
        if lines_in is not None:
            for line in lines_in:
                if line.strip() and not line.startswith("#"):
                    write(f"> {line.strip()}")
                if not await chat.feed(line):
                    break
            if server is not None:  # the script is done; the pages stay until Ctrl-C or SIGTERM
                await until_stopped()
        else:
            loop = asyncio.get_running_loop()
            while True:
                try:
                    line = await loop.run_in_executor(None, input, "> ")
                except EOFError:
                    break
                if not await chat.feed(line):
                    break
    finally:
        if server is not None:
            server.stop()
        await db.dispose()
    return 0


async def until_stopped() -> None:
    """Wait for Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


# --- run -----------------------------------------------------------------------------------

async def run(config: Config) -> int:
    if config.telegram is None and config.matrix is None:
        print(f"{config.source}: neither [telegram] token nor [matrix] homeserver is set; "
              "nothing to run (try `irlbot demo`).", file=sys.stderr)
        return 2
    from bot.schedule import Wakeups

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            # The second SIGTERM or Ctrl-C: out at once, with the shell's code for the signal
            # (143, 130). What was not sent is in the outbox; the next start sends it.
            os.write(2, f"{name} again: exiting now\n".encode())
            os._exit(128 + signum)
        log.info("%s: stopping; sending what is owed for up to %s s (%s again exits at once)",
                 name, config.core.shutdown_deadline.total_seconds(), name)
        stop.set()

    # From the start: a SIGTERM while starting up stops the bot as gracefully as later.
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    db = Database(config.database.url, connections=config.database.connections)
    readiness = Readiness()
    if not await migrate_or_stop(db, readiness, stop, config.database.leader_poll_seconds):
        await db.dispose()
        return 0
    poll = config.database.leader_poll_seconds
    leadership = Leadership(db, accounts(config), poll=poll, check_every=poll,
                            readiness=readiness)
    try:
        if not await lead_or_stop(leadership, stop):
            await db.dispose()
            return 0
    except NotAlone as exc:
        print(f"{config.source}: {exc}", file=sys.stderr)
        await db.dispose()
        return 2
    clock = SystemClock()
    # What the core calls is built first, the core is built with it, then each is bound to
    # the core it calls back.
    adapters: dict[str, Adapter] = {}
    if config.telegram is not None:
        from bot.adapters.telegram.runtime import build_telegram

        adapters["telegram"] = build_telegram(config.telegram, db)
    if config.matrix is not None:
        from bot.adapters.matrix.runtime import build_matrix

        adapters["matrix"] = build_matrix(config.matrix, db)
    wakeups = Wakeups(clock, sweep_every=config.core.sweep_every, readiness=readiness)
    messengers = {name: adapter.messenger for name, adapter in adapters.items()}
    # One per process, served at /metrics; without a web server nobody reads it, and the
    # core counts into its NoMetrics (prometheus-client is not even loaded).
    metrics = None
    server = None
    if config.web is not None:
        from bot.web.metrics import Prometheus
        from bot.web.server import WebServer

        metrics = Prometheus(clock)
        server = WebServer(config.web, config.database.url, readiness, metrics=metrics)
    core = Core(db, messengers, clock, config.core, due_changed=wakeups.notify,
                metrics=metrics, wall=server)
    for adapter in adapters.values():
        adapter.bind(core)
    wakeups.bind(core)
    await core.resume()
    # The adapters that read an account this copy must lead (a webhook needs no lead).
    led = {name: adapter for name, adapter in adapters.items()
           if any(account.startswith(name + ":") for account in leadership.accounts)}
    keeper: asyncio.Task[None] | None = None
    if server is not None:
        server.start()
    try:
        for name, adapter in adapters.items():
            await adapter.start()
            readiness.reading(name)
        await wakeups.start()
        settle_heap()
        log.info("irlbot running: %s", ", ".join(messengers))
        keeper = asyncio.create_task(keep_the_lead(leadership, led, readiness),
                                     name="keep the lead")
        await stop.wait()
        await stop_task(keeper)
        await shut_down(core, wakeups, list(adapters.values()))
    finally:
        if keeper is not None:
            await stop_task(keeper)
        await wakeups.stop()
        for adapter in reversed(adapters.values()):
            try:
                await asyncio.wait_for(adapter.stop(), ADAPTER_STOP_TIMEOUT)
            except Exception:
                log.exception("stopping %s failed", adapter)
        await leadership.release()
        if server is not None:
            server.stop()
        await db.dispose()
    return 0


async def migrate_or_stop(db: Database, readiness: Readiness, stop: asyncio.Event,
                          first_pause: float) -> bool:
    """Migrate, waiting for a database that can't be reached yet (pauses doubling up to
    MAX_PAUSE); False when told to stop first. Any other failure raises."""
    pause = first_pause
    while True:
        try:
            await db.migrate()
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            readiness.database_down(exc)
            if await wait_or_stop(stop, pause):
                return False
            pause = min(pause * 2, MAX_PAUSE)
            continue
        readiness.database_ok()
        return True


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep; True when told to stop meanwhile."""
    return await wait_set(stop, seconds)


async def keep_the_lead(leadership: Leadership, led: Mapping[str, Adapter],
                        readiness: Readiness) -> None:
    """While running: when the lead is lost (the database went away), stop reading the
    accounts and contend again, with growing pauses while the database can't be reached;
    read again once this copy leads again. The process stays up all along."""
    while True:
        reason = await leadership.until_lost()
        for name in led:
            readiness.not_reading(name, reason)
        await asyncio.gather(*(quietly(f"{name}: pausing input", adapter.pause_input())
                               for name, adapter in led.items()))
        while True:
            await leadership.acquire()
            resumed = await asyncio.gather(*(quietly(f"{name}: resuming input",
                                                      adapter.resume_input())
                                              for name, adapter in led.items()))
            if all(resumed):
                break
            # Could not read again (the database went away again): none reads, let go, and
            # try again later.
            await asyncio.gather(*(quietly(f"{name}: pausing input", adapter.pause_input())
                                   for name, adapter in led.items()))
            await leadership.let_go()
            await asyncio.sleep(leadership.poll)
        for name in led:
            readiness.reading(name)


async def quietly(what: str, step: Awaitable[None]) -> bool:
    try:
        await step
        return True
    except Exception:
        log.exception("%s failed", what)
        return False


async def stop_task(task: asyncio.Task[None]) -> None:
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


def accounts(config: Config) -> list[str]:
    """The platform accounts this copy reads: one leader for each across all copies."""
    names = []
    # In webhook mode every copy may take updates (the inbox stores each once): no leader.
    if config.telegram is not None and config.telegram.mode != "webhook":
        names.append("telegram:" + config.telegram.token.split(":", 1)[0])
    if config.matrix is not None:
        names.append("matrix:" + config.matrix.user_id)
    return names


async def lead_or_stop(leadership: Leadership, stop: asyncio.Event) -> bool:
    """Wait to lead this copy's accounts; False when told to stop first."""
    leading = asyncio.create_task(leadership.acquire())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({leading, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if leading.done():
        leading.result()  # NotAlone, from SQLite
        return True
    leading.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await leading
    await leadership.release()
    return False


async def shut_down(core: Core, wakeups: Wakeups, adapters: Sequence[Adapter]) -> None:
    """SIGTERM: stop taking input, let the units of work in progress finish, deliver the
    outbox until the deadline. Every step is bounded by the deadline (and a little grace)."""
    loop = asyncio.get_running_loop()
    budget = core.settings.shutdown_deadline.total_seconds()
    ends = loop.time() + budget + SHUTDOWN_GRACE
    core.begin_shutdown()  # from the deadline on, nothing more is sent

    async def wind_down() -> int:
        # Adapters stop reading; what they read is handled (its units of work finish).
        await asyncio.gather(*(adapter.stop_input() for adapter in adapters), wakeups.stop())
        return await core.drain()

    try:
        left = await asyncio.wait_for(wind_down(), max(0.0, ends - loop.time()))
    except TimeoutError:
        log.warning("stopping: still busy after %.0f s; what is left is sent at the next start",
                    budget)
        return
    except Exception:
        log.exception("stopping: sending what is owed failed; it is sent at the next start")
        return
    if left:
        log.info("stopping: %d message(s) left in the outbox for the next start", left)
    else:
        log.info("stopping: the outbox is empty")


async def migrate(config: Config) -> int:
    db = Database(config.database.url, connections=config.database.connections)
    try:
        await db.migrate()
    finally:
        await db.dispose()
    print(f"database is up to date: {mask_url(config.database.url)}")
    return 0


def secrets_of(config: Config) -> list[str | None]:
    """What must never be logged: masked wherever it turns up (bot/redact.py)."""
    try:
        password = make_url(config.database.url).password
    except ArgumentError:
        password = None
    secrets: list[str | None] = [str(password) if password else None]
    if config.telegram is not None:
        secrets += [config.telegram.token, config.telegram.secret_token]
    if config.matrix is not None:
        secrets += [config.matrix.password, config.matrix.access_token]
    return secrets


def warn_if_readable(path: Path) -> None:
    """The config file holds tokens and passwords: say so at start when others may read it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read or changed by other users (mode %s); it may hold tokens "
                    "and passwords: chmod 600 %s", path, stat.filemode(mode), path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="irlbot", description="IRL, the meetup bot")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="a chapter chat in the terminal, no token needed")
    p_demo.add_argument("--db", help="SQLite file to keep (default: a new temporary folder)")
    p_demo.add_argument("--lang", choices=["en", "nl"], default="en")
    p_demo.add_argument("--web", metavar="HOST:PORT",
                        help="also serve the chapter's pages there (e.g. 127.0.0.1:8080)")
    for name, text in (("run", "run the bot"), ("migrate", "bring the database schema up to date")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", help="config.toml (see config.example.toml)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.command == "run" else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        lines = None if sys.stdin.isatty() else sys.stdin.read().splitlines()
        web = None
        if args.web:
            address = listen_address(args.web)
            if address is None:
                print(f"--web: write it as host:port like 127.0.0.1:8080, not {args.web!r}",
                      file=sys.stderr)
                return 2
            web = WebSettings(host=address[0], port=address[1],
                              public_url=f"http://{args.web}")
        try:
            return asyncio.run(demo(args.db, args.lang, lines, web))
        except BrokenPipeError:  # `irlbot demo < script | head`
            return 0
    redact_logs()  # secret-shaped text (bot tokens, passwords in URLs), from the start
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    redact_logs(secrets_of(config))
    if args.config:
        warn_if_readable(Path(args.config))
    try:
        if args.command == "run":
            return asyncio.run(run(config))
        return asyncio.run(migrate(config))
    except Exception:
        # Through the log, so the redaction applies: python-telegram-bot puts the token in
        # the message of a rejected token, and a driver may quote its URL.
        log.exception("irlbot %s failed", args.command)
        return 1


if __name__ == "__main__":
    sys.exit(main())
