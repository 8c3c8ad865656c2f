"""The PostgreSQL pool: what a unit of work costs in round trips, counted on the wire, and
how many connections a burst of units opens."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, func, select

from bot.db.models import Person
from bot.db.session import Database
from tests.tcp_relay import TcpRelay


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_unit_of_work_is_its_statements_and_two_round_trips(db_url: str,
                                                                    db: Database) -> None:
    """BEGIN, sent when the pool hands the connection out, is also its ping (a dead
    connection is replaced there, tests/core/test_outage.py); then the statement, then
    COMMIT. No separate ping, no separate BEGIN before the first statement."""
    host_port = db_url.rsplit("@", 1)[1].split("/", 1)[0]
    relay = TcpRelay(int(host_port.rsplit(":", 1)[1]))
    await relay.start()
    relayed = Database(db_url.replace(host_port, f"127.0.0.1:{relay.port}"))
    counted = []
    try:
        for _ in range(3):  # the first connects and prepares the statement
            before = relay.requests
            async with relayed.transaction() as s:
                assert await s.scalar(select(func.count()).select_from(Person)) == 0
            counted.append(relay.requests - before)
    finally:
        await relayed.dispose()
        await relay.cut()
    assert counted[1:] == [3, 3], counted


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_burst_of_units_waits_for_the_pools_connections_and_opens_no_more(
        db_url: str, db: Database) -> None:
    """Twenty units at once on a pool of three: three connections are opened and kept, the
    units take turns, all of them commit. Opening a connection for each unit of a burst and
    closing it after (SQLAlchemy's overflow) cost more than the burst itself under load."""
    pool = Database(db_url, connections=3)
    opened: list[int] = []
    event.listen(pool.engine.sync_engine, "connect", lambda *_args: opened.append(1))
    at_once = 0
    most = 0

    async def unit(i: int) -> int:
        nonlocal at_once, most
        async with pool.transaction() as s:
            people = int(await s.scalar(select(func.count()).select_from(Person)))
            at_once += 1  # this unit holds a connection now
            most = max(most, at_once)
            await asyncio.sleep(0.02)
            at_once -= 1
            return people + i

    try:
        assert await asyncio.gather(*(unit(i) for i in range(20))) == list(range(20))
        assert await asyncio.gather(*(unit(i) for i in range(20))) == list(range(20))
    finally:
        await pool.dispose()
    assert len(opened) == 3
    assert most == 3
