"""A TCP relay in front of Synapse that a test can cut, to lose the bot's connection (shared
with the database outage tests: tests/tcp_relay.py)."""

from __future__ import annotations

from tests.tcp_relay import TcpRelay

__all__ = ["TcpRelay"]
