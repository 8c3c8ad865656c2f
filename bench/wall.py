"""The live wall under a crowd: 200 posts a minute into a wall watched by 50 open pages.

A chapter with a meetup tonight and its wall open (/setup, /newmeetup, /wall through the
core). The web server runs in its own thread, as in `irlbot run`. 50 server-sent-event
clients (the open pages) run in a separate process, so the bot process's CPU is the bot's:
the core taking each post in its unit of work, and the web server passing it to 50 streams.
Each post is a group message carrying the hashtag, handed to `Core.handle_message` as an
adapter does, one every 60/rate s. Measured per post: from the hand-over to the last of the
50 clients receiving it (the clients note the time; same machine, same clock); and the bot
process's CPU time (all its threads) over the run, per post.

    PYTHONPATH=$PWD .venv/bin/python bench/wall.py                  # 200 posts, 200 a minute
    PYTHONPATH=$PWD .venv/bin/python bench/wall.py --db postgres --posts 100

Goal: p99 under 1 s. Exit status 1 when it is missed or a post didn't reach every client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._db import fresh_database
from bot.clock import SystemClock
from bot.core.app import Core
from bot.core.messages import Button, ChatRef, Inbound, OutFile, SentMessage, SentPoll, UserRef
from bot.core.settings import CoreSettings
from bot.db.session import Database
from bot.web.server import WebServer
from bot.web.settings import WebSettings

GROUP = ChatRef("console", "group")


class QuietMessenger:
    """The group's platform, answering without a network: the bench measures the wall."""

    platform = "console"

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._n = 0

    def _id(self) -> str:
        self._n += 1
        return str(self._n)

    async def send_text(self, chat: ChatRef, text: str, buttons: Sequence[Button] = (), *,
                        key: str | None = None) -> SentMessage:
        self.texts.append(text)
        return SentMessage(chat, self._id())

    async def edit_text(self, chat: ChatRef, message_id: str, text: str,
                        buttons: Sequence[Button] = (), *, key: str | None = None) -> None:
        return None

    async def send_poll(self, chat: ChatRef, question: str, options: Sequence[str],
                        multiple: bool, *, key: str | None = None) -> SentPoll:
        mid = self._id()
        return SentPoll(chat, mid, mid)

    async def close_poll(self, poll: SentPoll, *, key: str | None = None) -> None:
        return None

    async def send_file(self, chat: ChatRef, file: OutFile, caption: str = "", *,
                        key: str | None = None) -> SentMessage:
        return SentMessage(chat, self._id())

    async def send_dm(self, user: UserRef, text: str, file: OutFile | None = None, *,
                      key: str | None = None, buttons: Sequence[Button] = ()) -> SentMessage:
        return SentMessage(ChatRef(self.platform, f"dm-{user.id}"), self._id())

    def start_hint(self, user: UserRef) -> str:
        return ""


# --- the open pages (a separate process) -----------------------------------------------------

async def clients_main(url: str, clients: int, posts: int) -> None:
    """Open `clients` streams; print "ready", then a JSON line per post once every client
    has it: {"number": n, "last": time of the last client's receipt}."""
    import aiohttp

    received: dict[int, list[float]] = {}
    done = asyncio.Event()

    async def one(session: aiohttp.ClientSession, opened: asyncio.Event) -> None:
        async with session.get(url + "/events") as response:
            assert response.status == 200, response.status
            opened.set()
            kind = ""
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "post":
                    at = time.time()
                    number = int(json.loads(line[6:])["number"])
                    got = received.setdefault(number, [])
                    got.append(at)
                    if len(got) == clients:
                        print(json.dumps({"number": number, "last": max(got)}), flush=True)
                        if len([n for n, g in received.items() if len(g) == clients]) >= posts:
                            done.set()

    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        opened = [asyncio.Event() for _ in range(clients)]
        tasks = [asyncio.create_task(one(session, ev)) for ev in opened]
        await asyncio.wait_for(asyncio.gather(*(ev.wait() for ev in opened)), 60)
        print("ready", flush=True)
        try:
            await asyncio.wait_for(done.wait(), 600)
        finally:
            for task in tasks:
                task.cancel()


# --- the bot ----------------------------------------------------------------------------------

async def run(kind: str, posts: int, rate: float, clients: int) -> bool:
    async with fresh_database(kind) as url:
        db = Database(url)
        await db.migrate()
        port = free_port()
        web = WebServer(WebSettings(port=port, public_url=f"http://127.0.0.1:{port}",
                                    sse_per_wall=max(200, clients)), url)
        messenger = QuietMessenger()
        core = Core(db, {"console": messenger}, SystemClock(), CoreSettings(
            commands_per_minute=0), wall=web)
        web.start()
        try:
            async def say(who: str, text: str, admin: bool = False, mid: str | None = None
                          ) -> None:
                await core.handle_message(Inbound(GROUP, UserRef("console", who, who.title()),
                                                  text, False, admin, mid))

            await say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en", True)
            tonight = (datetime.now(ZoneInfo("Europe/Amsterdam")) + timedelta(hours=2))
            await say("alice", f"/newmeetup Tweetup #73; {tonight:%Y-%m-%d %H:%M}; "
                               "Verkadefabriek", True)
            await say("alice", "/wall #tweetup073", True)
            wall_url = next(t for t in messenger.texts if "/w/" in t).split("open: ")[1].split()[0]

            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--clients-of", wall_url, "--clients", str(clients),
                "--posts", str(posts), stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
            assert proc.stdout is not None
            assert (await proc.stdout.readline()).decode().strip() == "ready"
            arrivals: dict[int, float] = {}

            async def read() -> None:
                assert proc.stdout is not None
                while line := await proc.stdout.readline():
                    data = json.loads(line)
                    arrivals[int(data["number"])] = float(data["last"])

            reader = asyncio.create_task(read())
            sent: dict[int, float] = {}
            every = 60.0 / rate
            cpu0, start = time.process_time(), time.monotonic()
            for i in range(1, posts + 1):
                await asyncio.sleep(max(0.0, start + (i - 1) * every - time.monotonic()))
                sent[i] = time.time()
                await say(f"member{i % 40}", f"#tweetup073 post {i}: great talk!",
                          mid=f"m{i}")
            try:
                await asyncio.wait_for(reader, 30)
            except TimeoutError:
                proc.kill()
            cpu = time.process_time() - cpu0
            await proc.wait()
        finally:
            web.stop()
            await db.dispose()
    latencies = sorted(arrivals[n] - sent[n] for n in sent if n in arrivals)
    missing = posts - len(latencies)
    if not latencies:
        print("no post reached every client")
        return False
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{kind}: {posts} posts at {rate:.0f} a minute, {clients} open pages; "
          f"post -> every client: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms; "
          f"{missing} posts missed a client; bot CPU {cpu / posts * 1000:.1f} ms a post "
          f"(load {os.getloadavg()[0]:.1f})")
    return missing == 0 and p99 < 1.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--rate", type=float, default=200.0, help="posts a minute")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--clients-of", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.clients_of:
        asyncio.run(clients_main(args.clients_of, args.clients, args.posts))
        return 0
    return 0 if asyncio.run(run(args.db, args.posts, args.rate, args.clients)) else 1


if __name__ == "__main__":
    sys.exit(main())
