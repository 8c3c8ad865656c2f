"""Composition root: read the config, build the engine, the core, the scheduler and the
adapters, and run them under one event loop. `irlbot demo | run | migrate`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from bot.clock import SystemClock, VirtualClock
from bot.config import Config, ConfigError, load_config
from bot.core.app import Core
from bot.core.ports import Messenger
from bot.core.settings import CoreSettings
from bot.db.session import Database

log = logging.getLogger("irlbot")


class Adapter(Protocol):
    """What the composition root needs of a platform adapter."""

    @property
    def messenger(self) -> Messenger: ...

    def bind(self, core: Core) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


# --- demo ----------------------------------------------------------------------------------

async def demo(db_path: str | None, language: str, lines_in: Sequence[str] | None) -> int:
    from bot.adapters.console.chat import ConsoleChat
    from bot.adapters.console.messenger import ConsoleMessenger

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
    messenger = ConsoleMessenger(write, data_dir / "files")
    settings = CoreSettings(default_language=language)
    core = Core(db, {"console": messenger}, clock, settings)
    chat = ConsoleChat(core, messenger, clock, write, settings.default_timezone)
    interactive = lines_in is None
    write(f"-- IRL demo: a chapter chat on a virtual clock. Data: {data_dir}")
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
        await db.dispose()
    return 0


# --- run -----------------------------------------------------------------------------------

async def run(config: Config) -> int:
    from bot.schedule import Wakeups

    if config.telegram is None and config.matrix is None:
        print(f"{config.source}: neither [telegram] token nor [matrix] homeserver is set; "
              "nothing to run (try `irlbot demo`).", file=sys.stderr)
        return 2
    db = Database(config.database.url)
    await db.migrate()
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
    wakeups = Wakeups(clock)
    messengers = {name: adapter.messenger for name, adapter in adapters.items()}
    core = Core(db, messengers, clock, config.core, due_changed=wakeups.notify)
    for adapter in adapters.values():
        adapter.bind(core)
    wakeups.bind(core)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for adapter in adapters.values():
            await adapter.start()
        await wakeups.start()
        log.info("irlbot running: %s", ", ".join(messengers))
        await stop.wait()
    finally:
        await wakeups.stop()
        for adapter in reversed(adapters.values()):
            try:
                await adapter.stop()
            except Exception:
                log.exception("stopping %s failed", adapter)
        await db.dispose()
    return 0


async def migrate(config: Config) -> int:
    db = Database(config.database.url)
    try:
        await db.migrate()
    finally:
        await db.dispose()
    print(f"database is up to date: {config.database.url}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="irlbot", description="IRL, the meetup bot")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="a chapter chat in the terminal, no token needed")
    p_demo.add_argument("--db", help="SQLite file to keep (default: a new temporary folder)")
    p_demo.add_argument("--lang", choices=["en", "nl"], default="en")
    for name, text in (("run", "run the bot"), ("migrate", "bring the database schema up to date")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", help="config.toml (see config.example.toml)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.command == "run" else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        lines = None if sys.stdin.isatty() else sys.stdin.read().splitlines()
        try:
            return asyncio.run(demo(args.db, args.lang, lines))
        except BrokenPipeError:  # `irlbot demo < script | head`
            return 0
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    if args.command == "run":
        return asyncio.run(run(config))
    return asyncio.run(migrate(config))


if __name__ == "__main__":
    sys.exit(main())
