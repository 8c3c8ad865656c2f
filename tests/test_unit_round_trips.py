"""What a unit of work costs in round trips to PostgreSQL, counted on the wire."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

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
