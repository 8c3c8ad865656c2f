"""IRL side by side with matrix-reminder-bot (issue 14): the same Synapse, the same load.

Installs matrix-reminder-bot from PyPI into a virtual environment of its own under
`bench/.peer/` (git-ignored; made once, reused), starts one throwaway Synapse (SQLite, as the
tests do) and runs both bots against it as real processes, one after the other: IRL as
`irlbot run --config …` (this repo's .venv, or --irl-python), the peer as its console script
`matrix-reminder-bot config.yaml`. Each bot gets a fresh account, SQLite database and store in
a temporary folder, and Synapse's rate limits lifted (`override_ratelimit`), as do the members.

For each bot:

1. Cold start: the first start ever (fresh database and store, a password login, device keys
   uploaded), measured as below, then stopped.
2. The run: started again (device and token kept from step 1) straight against Synapse. Four
   members each create a room and invite the bot (both bots join on invite). IRL: `!setup` in
   each room (the creator is an organiser) and two `!newmeetup`s, so `!meetups` answers from a
   real chapter with two meetups. The peer: two `!remindroom` reminders in each room, so its
   read-only `!list` (listreminders) lists two. Then 5 s quiet, and RSS at idle.
   - serial: one member sends the read-only command N times (--commands, 200) in its room,
     each after the bot's reply to the one before;
   - 4 rooms at once: the four members, each in their own room, N/4 each, each serial in its
     room, the four concurrently.
   Latency is the reply's origin_server_ts minus the command's (both stamped by Synapse, so
   neither client's clock or sync delay counts); the reply is the bot's first message in the
   room after the command (edits skipped), checked to be the listing. CPU is the bot process's
   utime+stime+cutime+cstime from /proc/<pid>/stat over each phase; RSS is VmRSS from
   /proc/<pid>/status at idle, after the serial phase and after the 4-rooms phase.
3. Restarts (--starts, 3): the bot stopped, a member says a plain (non-command) line in the
   bot's room, and the bot is started again with its database, store, device and token all
   present (a warm restart: IRL reuses its stored access token, the peer logs in with its
   password and fixed device id, as each does in production). Reported: the median.

Start-up is measured the same way for both: the bot's homeserver is a small HTTP relay in a
thread of this process (127.0.0.1, no compression) in front of Synapse, and start-up is from
just before the process is spawned to the moment the relay has written the last byte of the
bot's first /sync response (for either bot the first /sync returns at once: the peer's first
sync has timeout 0, IRL's first sync after a restart long-polls, and the pending plain line
makes it return at once too). Only start-ups go through the relay; the commands don't.

Prints one markdown table (peer, IRL, IRL/peer); with --rounds N the whole comparison is
repeated (the bot that goes first alternates) and each cell is min–median–max. The goals of
issue 14 (IRL/peer): CPU a command ≤ 0.5, RSS after the commands ≤ 1, start-up ≤ 1,
4-rooms p95 ≤ 0.63.

    .venv/bin/python bench/peer_matrix.py [--commands 200] [--rounds 2] [--starts 3]
        [--only irl|peer] [--irl-python PATH] [--json PATH] [--keep] [--py-spy DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aiohttp import ClientError, ClientSession, ClientTimeout, web  # noqa: E402

from tests.matrix.mx_members import Member  # noqa: E402
from tests.matrix.mx_synapse import Account, SynapseServer, free_port  # noqa: E402

PEER_DIR = REPO / "bench" / ".peer"
PEER_PACKAGE = "matrix-reminder-bot"
PEER_VERSION = "0.4.0"
CLK_TCK = os.sysconf("SC_CLK_TCK")
ROOMS = 4
REPLY_WITHIN_S = 30.0
IDLE_S = 5.0

# Every child process, so that an exit of any kind (Ctrl-C, an error) stops them all.
_CHILDREN: list[subprocess.Popen[bytes]] = []


def _stop_children() -> None:
    for proc in _CHILDREN:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)


# -- the peer's environment --------------------------------------------------------------


def peer_venv(version: str) -> Path:
    """bench/.peer/venv with matrix-reminder-bot==version; made (with pip) when missing."""
    venv = PEER_DIR / "venv"
    python = venv / "bin" / "python"
    if python.exists() and _installed(python, PEER_PACKAGE) == version:
        return venv
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    (PEER_DIR / ".gitignore").write_text("*\n")
    print(f"installing {PEER_PACKAGE}=={version} into {venv} …", file=sys.stderr)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"{PEER_PACKAGE}=={version}"],
                   check=True)
    return venv


def _installed(python: Path, package: str) -> str | None:
    out = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


# -- /proc ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of the process, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime..cstime are fields 14..17.
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def system_seconds(pid: int) -> float:
    """stime + cstime: the kernel's share of cpu_seconds (sockets, fsync, page faults)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[12]) + int(fields[14])) / CLK_TCK


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} for pid {pid}")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- the relay that sees the first /sync ---------------------------------------------------


class SyncWatch:
    """An HTTP relay to Synapse in its own thread and event loop. After arm(), wait() returns
    the time.monotonic() at which the relay finished writing the first /sync response."""

    _DROP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive",
             "accept-encoding"}

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._done: float | None = None
        self._armed = False
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="sync-watch", daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._inflight: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the /sync relay did not start")

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def arm(self) -> None:
        with self._lock:
            self._armed, self._done = True, None
            self._event.clear()

    def wait(self, within: float) -> float | None:
        self._event.wait(within)
        with self._lock:
            return self._done

    def disarm(self) -> None:
        with self._lock:
            self._armed = False

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._open())
        self._ready.set()
        self._loop.run_forever()

    async def _open(self) -> None:
        self._session = ClientSession(timeout=ClientTimeout(total=None, sock_read=180),
                                      auto_decompress=True)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._relay)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _close(self) -> None:
        for task in list(self._inflight):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        assert self._session is not None and task is not None
        self._inflight.add(task)
        try:
            body = await request.read()
            headers = {k: v for k, v in request.headers.items() if k.lower() not in self._DROP}
            try:
                async with self._session.request(
                    request.method, self.upstream + request.path_qs, headers=headers,
                    data=body or None, allow_redirects=False,
                ) as up:
                    data = await up.read()
                    status = up.status
                    content_type = up.headers.get("Content-Type", "application/json")
            except (ClientError, OSError) as exc:
                return web.Response(status=502, text=f"relay: {exc!r}")
            resp = web.StreamResponse(status=status, headers={"Content-Type": content_type})
            resp.content_length = len(data)
            try:
                await resp.prepare(request)
                await resp.write(data)
                await resp.write_eof()
            except (ClientError, OSError):
                return resp  # the bot went away (stopped) meanwhile
            if request.path.endswith("/sync"):
                with self._lock:
                    if self._armed and self._done is None:
                        self._done = time.monotonic()
                        self._event.set()
            return resp
        finally:
            self._inflight.discard(task)


# -- the two bots ---------------------------------------------------------------------------


@dataclass
class BotKind:
    name: str  # "irl" | "peer"
    command: str  # the read-only command
    expect: str  # a piece of its answer
    work: Path = Path()  # its database, store, config and log
    account: Account | None = None

    def setup_commands(self, i: int) -> list[tuple[str, str]]:
        raise NotImplementedError

    def write_config(self, homeserver: str) -> None:
        raise NotImplementedError

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)


@dataclass
class IrlBot(BotKind):
    python: Path = Path()

    def setup_commands(self, i: int) -> list[tuple[str, str]]:
        def when(days: int) -> str:
            return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d 19:30")
        return [(f"!setup Bench {i}; Eindhoven; Europe/Amsterdam; en", f"Bench {i}"),
                (f"!newmeetup Bench borrel; {when(7)}; Area51", "Bench borrel"),
                (f"!newmeetup Bench lunch; {when(14)}; Kazerne", "Bench lunch")]

    def write_config(self, homeserver: str) -> None:
        assert self.account is not None
        db = self.work / "irl.db"
        (self.work / "config.toml").write_text(
            f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n\n'
            "[bot]\ncommands_per_minute = 0\n\n"
            f'[matrix]\nhomeserver = "{homeserver}"\nuser_id = "{self.account.user_id}"\n'
            f'password = "{self.account.password}"\nstore_dir = "{self.work / "store"}"\n')

    def argv(self) -> list[str]:
        script = self.python.parent / "irlbot"
        head = [str(script)] if script.exists() else [str(self.python), "-m", "bot"]
        return [*head, "run", "--config", str(self.work / "config.toml")]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IRL_")}
        env.pop("PYTHONPATH", None)
        return env


@dataclass
class PeerBot(BotKind):
    venv: Path = Path()

    def setup_commands(self, i: int) -> list[tuple[str, str]]:
        return [(f"!remindroom in 7 days; Bench borrel {i}", "OK, I will remind"),
                (f"!remindroom in 14 days; Bench lunch {i}", "OK, I will remind")]

    def write_config(self, homeserver: str) -> None:
        assert self.account is not None
        config = {
            "command_prefix": "!",
            "matrix": {"user_id": self.account.user_id, "user_password": self.account.password,
                       "homeserver_url": homeserver, "device_id": "PEERBENCH",
                       "device_name": "reminder-bot"},
            "storage": {"database": f"sqlite://{self.work / 'reminders.db'}",
                        "store_path": str(self.work / "store")},
            "reminders": {"timezone": "Europe/Amsterdam"},
            "allowlist": {"enabled": False, "regexes": []},
            "blocklist": {"enabled": False, "regexes": []},
            "logging": {"level": "INFO", "file_logging": {"enabled": False},
                        "console_logging": {"enabled": True}},
        }
        # JSON is YAML.
        (self.work / "config.yaml").write_text(json.dumps(config, indent=1))

    def argv(self) -> list[str]:
        return [str(self.venv / "bin" / "matrix-reminder-bot"), str(self.work / "config.yaml")]


class Running:
    """One bot process; output to work/bot.log."""

    def __init__(self, bot: BotKind) -> None:
        self.bot = bot
        self.log = bot.work / "bot.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"---- start {datetime.now(UTC).isoformat()}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.bot.argv(), stdout=out, stderr=subprocess.STDOUT,
                cwd=self.bot.work, env=self.bot.env(),
                start_new_session=True)
        _CHILDREN.append(self.proc)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        self.check()
        return self.proc.pid

    def check(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.bot.name} exited with {self.proc.returncode}; the end of "
                               f"{self.log}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.proc.wait, 20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def py_spy(folder: Path | None, pid: int, name: str) -> subprocess.Popen[bytes] | None:
    """With --py-spy: sample the bot (py-spy record, raw collapsed stacks) until stop_spy."""
    if folder is None:
        return None
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [exe, "record", "--pid", str(pid), "--rate", "200", "--nonblocking", "--format", "raw",
         "--output", str(folder / f"{name}.txt")],
        stdout=subprocess.DEVNULL, stderr=(folder / f"{name}.log").open("wb"))
    _CHILDREN.append(proc)
    return proc


async def stop_spy(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    proc.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
    try:
        await asyncio.to_thread(proc.wait, 30)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- measuring --------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


async def ask(member: Member, room: str, bot: BotKind, bot_id: str, text: str, expect: str,
              running: Running) -> float:
    """`member` says `text` in `room`; returns the server-side latency (ms) of the bot's reply,
    which must contain `expect`."""
    mark = len(member.timeline)
    event_id = await member.say(room, text)
    try:
        _, sent = await member.wait_for(
            lambda r, e: r == room and e.get("event_id") == event_id, within=REPLY_WITHIN_S,
            after=mark)
        index = next(i for i in range(mark, len(member.timeline))
                     if member.timeline[i][1].get("event_id") == event_id)
        _, reply = await member.wait_for(
            lambda r, e: r == room and e.get("sender") == bot_id
            and e.get("type") == "m.room.message"
            and "m.new_content" not in (e.get("content") or {}),
            within=REPLY_WITHIN_S, after=index + 1)
    except TimeoutError:
        running.check()
        raise TimeoutError(f"{bot.name}: no reply to {text!r} in {room} within "
                           f"{REPLY_WITHIN_S:.0f} s; the end of {running.log}:\n"
                           f"{running.tail()}") from None
    body = reply["content"].get("body", "")
    if expect not in body:
        raise RuntimeError(f"{bot.name}: the reply to {text!r} lacks {expect!r}: {body[:300]!r}")
    return float(reply["origin_server_ts"] - sent["origin_server_ts"])


@dataclass
class Result:
    bot: str
    load_start: str = ""
    cold_start_s: float = 0.0
    starts_s: list[float] = field(default_factory=list)
    rss_idle: float = 0.0
    rss_serial: float = 0.0
    rss_after: float = 0.0
    hwm_after: float = 0.0
    cpu_serial: float = 0.0
    cpu_rooms: float = 0.0
    serial_ms: list[float] = field(default_factory=list)
    rooms_ms: list[float] = field(default_factory=list)
    wall_serial_s: float = 0.0
    wall_rooms_s: float = 0.0

    def summary(self, commands: int) -> dict[str, float]:
        return {
            "cpu_serial_s": self.cpu_serial,
            "cpu_ms_per_command": self.cpu_serial / commands * 1000,
            "serial_median_ms": statistics.median(self.serial_ms),
            "serial_p95_ms": percentile(self.serial_ms, 95),
            "cpu_rooms_s": self.cpu_rooms,
            "rooms_median_ms": statistics.median(self.rooms_ms),
            "rooms_p95_ms": percentile(self.rooms_ms, 95),
            "rss_idle_mib": self.rss_idle,
            "rss_after_serial_mib": self.rss_serial,
            "rss_after_mib": self.rss_after,
            "startup_s": statistics.median(self.starts_s),
            "cold_start_s": self.cold_start_s,
        }


async def timed_start(running: Running, watch: SyncWatch, within: float = 120) -> float:
    watch.arm()
    t0 = time.monotonic()
    running.spawn()
    loop = asyncio.get_running_loop()
    deadline = t0 + within
    try:
        while (done := await loop.run_in_executor(None, watch.wait, 0.5)) is None:
            running.check()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{running.bot.name}: no first /sync within {within:.0f} s; "
                                   f"the end of {running.log}:\n{running.tail()}")
    finally:
        watch.disarm()
    return done - t0


async def run_bot(bot: BotKind, synapse: SynapseServer, watch: SyncWatch, args: argparse.Namespace,
                  log: Any) -> Result:
    result = Result(bot.name, load_start=loadavg())
    work: Path = bot.work
    work.mkdir(parents=True)
    account = synapse.register(synapse.unique(f"{bot.name}bot"), displayname=f"{bot.name} bot")
    bot.account = account
    bot_id = account.user_id
    running = Running(bot)
    members: list[Member] = []
    try:
        # 1. the first start ever
        bot.write_config(watch.url)
        result.cold_start_s = await timed_start(running, watch)
        log(f"{bot.name}: cold start {result.cold_start_s:.2f} s")
        await asyncio.sleep(1)
        await running.stop()

        # 2. the run, straight to Synapse
        bot.write_config(synapse.url)
        running.spawn()
        for i in range(ROOMS):
            member = Member(synapse, synapse.register(synapse.unique(f"m{bot.name}"),
                                                      displayname=f"Member {i}"))
            await member.start()
            members.append(member)
        rooms = [await m.create_room([bot_id], name=f"bench {bot.name} {i}")
                 for i, m in enumerate(members)]
        for member, room in zip(members, rooms, strict=True):
            try:
                await member.wait_for(
                    lambda r, e, room=room: r == room and e.get("type") == "m.room.member"
                    and e.get("state_key") == bot_id
                    and (e.get("content") or {}).get("membership") == "join", within=60)
            except TimeoutError:
                running.check()
                raise TimeoutError(f"{bot.name} did not join {room} within 60 s; the end of "
                                   f"{running.log}:\n{running.tail()}") from None
        for i, (member, room) in enumerate(zip(members, rooms, strict=True)):
            for text, expect in bot.setup_commands(i):
                await ask(member, room, bot, bot_id, text, expect, running)
            await ask(member, room, bot, bot_id, bot.command, bot.expect, running)
        await asyncio.sleep(IDLE_S)
        pid = running.pid
        result.rss_idle = rss_mib(pid)
        log(f"{bot.name}: idle RSS {result.rss_idle:.1f} MiB")

        # serial
        spy = py_spy(args.py_spy, pid, f"{bot.name}-{work.name}-serial")
        cpu0, sys0, t0 = cpu_seconds(pid), system_seconds(pid), time.monotonic()
        for _ in range(args.commands):
            result.serial_ms.append(
                await ask(members[0], rooms[0], bot, bot_id, bot.command, bot.expect, running))
        result.cpu_serial = cpu_seconds(pid) - cpu0
        system_serial = system_seconds(pid) - sys0
        result.wall_serial_s = time.monotonic() - t0
        result.rss_serial = rss_mib(pid)
        await stop_spy(spy)
        log(f"{bot.name}: serial {args.commands} in {result.wall_serial_s:.1f} s, "
            f"CPU {result.cpu_serial:.2f} s, of which the kernel's {system_serial:.2f} s")

        # 4 rooms at once
        each = args.commands // ROOMS

        async def one_room(member: Member, room: str) -> list[float]:
            return [await ask(member, room, bot, bot_id, bot.command, bot.expect, running)
                    for _ in range(each)]

        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        per_room = await asyncio.gather(*(one_room(m, r) for m, r in zip(members, rooms,
                                                                          strict=True)))
        result.cpu_rooms = cpu_seconds(pid) - cpu0
        result.wall_rooms_s = time.monotonic() - t0
        result.rooms_ms = [ms for room in per_room for ms in room]
        await asyncio.sleep(1)
        result.rss_after = rss_mib(pid)
        result.hwm_after = rss_mib(pid, "VmHWM")
        log(f"{bot.name}: 4 rooms {each * ROOMS} in {result.wall_rooms_s:.1f} s, "
            f"CPU {result.cpu_rooms:.2f} s, RSS after {result.rss_after:.1f} MiB")
        await running.stop()

        # 3. restarts with everything in place
        bot.write_config(watch.url)
        for n in range(args.starts):
            await members[0].say(rooms[0], f"just chatting {n}")
            await asyncio.sleep(0.5)
            result.starts_s.append(await timed_start(running, watch))
            await asyncio.sleep(1.5)
            await running.stop()
        log(f"{bot.name}: restarts {', '.join(f'{s:.2f}' for s in result.starts_s)} s")
    finally:
        await running.stop()
        for member in members:
            await member.close()
    return result


# -- the table -------------------------------------------------------------------------------

ROWS: list[tuple[str, str, str]] = [
    # (label, summary key, format)
    ("CPU, {n} commands one at a time (s)", "cpu_serial_s", "{:.2f}"),
    ("CPU a command (ms)", "cpu_ms_per_command", "{:.1f}"),
    ("latency one at a time, median (ms)", "serial_median_ms", "{:.0f}"),
    ("latency one at a time, p95 (ms)", "serial_p95_ms", "{:.0f}"),
    ("CPU, {n} commands from 4 rooms at once (s)", "cpu_rooms_s", "{:.2f}"),
    ("latency 4 rooms at once, median (ms)", "rooms_median_ms", "{:.0f}"),
    ("latency 4 rooms at once, p95 (ms)", "rooms_p95_ms", "{:.0f}"),
    ("RSS at idle (MiB)", "rss_idle_mib", "{:.1f}"),
    ("RSS after the {n} one at a time (MiB)", "rss_after_serial_mib", "{:.1f}"),
    ("RSS after all commands (MiB)", "rss_after_mib", "{:.1f}"),
    ("start-up to first /sync done, median of restarts (s)", "startup_s", "{:.2f}"),
    ("first start ever, to first /sync done (s)", "cold_start_s", "{:.2f}"),
]


def spread(values: list[float], fmt: str) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return fmt.format(values[0])
    lo, mid, hi = min(values), statistics.median(values), max(values)
    return "–".join(fmt.format(v) for v in (lo, mid, hi))


def table(rounds: list[dict[str, dict[str, float]]], commands: int) -> str:
    lines = ["| measure | matrix-reminder-bot | IRL | IRL/peer |", "| --- | ---: | ---: | ---: |"]
    for label, key, fmt in ROWS:
        peer = [r["peer"][key] for r in rounds if "peer" in r]
        irl = [r["irl"][key] for r in rounds if "irl" in r]
        ratios = [r["irl"][key] / r["peer"][key] for r in rounds
                  if "irl" in r and "peer" in r and r["peer"][key]]
        lines.append(f"| {label.format(n=commands)} | {spread(peer, fmt)} | {spread(irl, fmt)} "
                     f"| {spread(ratios, '{:.2f}')} |")
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> dict[str, Any]:
    def log(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    kinds = ["peer", "irl"] if args.only is None else [args.only]
    venv = peer_venv(args.peer_version) if "peer" in kinds else None
    base = Path(tempfile.mkdtemp(prefix="irl-peer-bench-"))
    log(f"working in {base}; load {loadavg()}")
    synapse = SynapseServer(base / "synapse")
    watch = SyncWatch(synapse.url)
    out: dict[str, Any] = {
        "commands": args.commands, "rooms": ROOMS, "starts": args.starts,
        "peer": f"{PEER_PACKAGE} {args.peer_version}", "irl_python": str(args.irl_python),
        "machine": {"cores": os.cpu_count()}, "rounds": [],
    }
    try:
        synapse.start()
        if synapse._proc is not None:
            _CHILDREN.append(synapse._proc)
        watch.start()
        for r in range(args.rounds):
            order = kinds if r % 2 == 0 else kinds[::-1]
            log(f"round {r + 1} of {args.rounds}: {' then '.join(order)}; load {loadavg()}")
            summaries: dict[str, dict[str, float]] = {}
            raw: dict[str, Any] = {}
            for name in order:
                work = base / f"r{r + 1}-{name}"
                bot: BotKind
                if name == "irl":
                    bot = IrlBot("irl", "!meetups", "Bench borrel", python=args.irl_python,
                                 work=work)
                else:
                    assert venv is not None
                    bot = PeerBot("peer", "!list", "Bench borrel", venv=venv, work=work)
                res = await run_bot(bot, synapse, watch, args, log)
                summaries[name] = res.summary(args.commands)
                raw[name] = {**res.__dict__, "summary": summaries[name]}
            out["rounds"].append({"order": order, "load_end": loadavg(), **raw})
            print(f"\nround {r + 1} (load at its start {raw[order[0]]['load_start']}):\n"
                  + table([summaries], args.commands), flush=True)
        all_summaries = [{k: v["summary"] for k, v in rd.items() if k in ("irl", "peer")}
                         for rd in out["rounds"]]
        if args.rounds > 1:
            print(f"\nall {args.rounds} rounds, min–median–max:\n"
                  + table(all_summaries, args.commands), flush=True)
    finally:
        synapse.stop()
        watch.stop()
        _stop_children()
        if args.keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--commands", type=int, default=200,
                   help="commands in each phase (split over 4 rooms in the second)")
    p.add_argument("--rounds", type=int, default=1, help="repeat the whole comparison")
    p.add_argument("--starts", type=int, default=3, help="measured restarts per bot")
    p.add_argument("--only", choices=("irl", "peer"), help="run one bot only")
    p.add_argument("--irl-python", type=Path, default=REPO / ".venv" / "bin" / "python",
                   help="the python of the venv to run IRL from (its irlbot script is used)")
    p.add_argument("--peer-version", default=PEER_VERSION)
    p.add_argument("--json", type=Path, help="also write the results here ('-': stdout)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    p.add_argument("--py-spy", type=Path, metavar="DIR",
                   help="profile each bot in the serial phase with py-spy (not installed by "
                        "this script), collapsed stacks into DIR; the figures of such a run "
                        "carry py-spy's cost")
    args = p.parse_args(argv)
    if args.commands % ROOMS:
        p.error(f"--commands must be a multiple of {ROOMS}")
    if not args.irl_python.exists():
        p.error(f"--irl-python {args.irl_python} does not exist")
    return args


def run(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM as Ctrl-C, so that the finally blocks stop Synapse and the bots.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        out = asyncio.run(main(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        _stop_children()
    if args.json is not None:
        text = json.dumps(out, indent=1, default=str)
        if str(args.json) == "-":
            print(text)
        else:
            args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(run())
