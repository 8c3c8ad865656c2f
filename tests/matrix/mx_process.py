"""`irlbot run` on Matrix as a real process against the session's Synapse, on a real database:
what the tests with several processes share (a module of its own: not a conftest)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bot.db.session import Database
from tests.matrix.mx_helpers import is_member_join, is_text_from
from tests.matrix.mx_members import Member
from tests.matrix.mx_synapse import Account, SynapseServer
from tests.telegram.tg_support import BotProcess

TZ = ZoneInfo("Europe/Amsterdam")
LEASE_SECONDS = 2


def matrix_section(synapse: SynapseServer, account: Account) -> str:
    return (f'[matrix]\nhomeserver = "{synapse.url}"\nuser_id = "{account.user_id}"\n'
            f'password = "{account.password}"\ndm_invite_timeout = "1m"\n')


def bot_section(shutdown_deadline_seconds: int = 10) -> str:
    return (f"[bot]\nsend_lease_seconds = {LEASE_SECONDS}\nsweep_seconds = 1\n"
            f"shutdown_deadline_seconds = {shutdown_deadline_seconds}\n"
            'reminder_offsets = ["24h"]\ngroup_reminder = "24h"\nreminder_grace = "1h"\n')


def write_config(path: Path, db_url: str, *sections: str) -> Path:
    path.write_text(f'[database]\nurl = "{db_url}"\nleader_poll_seconds = 1\n\n'
                    + "\n".join(sections))
    return path


async def terminate(process: BotProcess, within: float = 30) -> int:
    """One SIGTERM (a graceful stop); the exit code."""
    assert process.proc is not None and process.proc.returncode is None, process.output()
    process.proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.proc.wait(), within)


def when(days: int) -> str:
    return (datetime.now(TZ) + timedelta(days=days)).strftime("%Y-%m-%d 19:30")


async def rows(database: Database, sql: str, **params: object) -> list[Any]:
    async with database.transaction() as s:
        return list((await s.execute(text(sql), params)).all())


async def scalar(database: Database, sql: str, **params: object) -> Any:
    found = await rows(database, sql, **params)
    return found[0][0] if found else None


async def wait_until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.2)


async def command(member: Member, room: str, bot_id: str, body: str, expect: str,
                  within: float = 30) -> dict[str, Any]:
    """`member` says `body` in `room`; the bot's answer containing `expect`."""
    mark = len(member.timeline)
    await member.say(room, body)
    _, answer = await member.wait_for(is_text_from(bot_id, room, expect), within=within,
                                      after=mark)
    return answer


async def open_dm(member: Member, bot_id: str) -> str:
    """`member` opens a direct room with the bot, as in Element, and sends !start there;
    returns the room once the bot has answered in it."""
    room = await member.create_room([bot_id], is_direct=True)
    await member.wait_for(lambda r, e: r == room and is_member_join(bot_id)(r, e), within=30)
    mark = len(member.timeline)
    await member.say(room, "!start")
    await member.wait_for(is_text_from(bot_id, room), within=30, after=mark)
    return room


async def room_bodies(member: Member, room: str, sender: str) -> list[str]:
    """The text of every message `sender` posted in `room`, from the homeserver's history
    (not from what the member's sync happened to see)."""
    history = await member.client.room_messages(room, limit=200)
    return [e.source["content"].get("body", "") for e in reversed(history.chunk)
            if e.source.get("type") == "m.room.message" and e.source.get("sender") == sender]


def set_message_rate(synapse: SynapseServer, user_id: str, per_second: float, burst: int) -> None:
    """Synapse's per-user message rate limit (0, 0 = none)."""
    synapse.request(
        "POST", f"/_synapse/admin/v1/users/{user_id}/override_ratelimit",
        {"messages_per_second": per_second, "burst_count": burst}, token=synapse.admin_token,
    )
