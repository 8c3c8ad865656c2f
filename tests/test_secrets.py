"""Secrets (issue 10, point 6): a password in the database URL is masked where `irlbot
migrate` prints it or a failure is logged, and whatever the bot logs passes the redaction."""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bot.redact import Redactor, install, mask_url
from tests.conftest import PG_HOST, PG_PORT, PG_USER, skip_or_fail_without_postgres

PASSWORD = "s3cret-Pa55word"


def migrate(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "migrate", "--config", str(config)],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])


def test_irlbot_migrate_prints_the_url_without_its_password(tmp_path: Path) -> None:
    """PostgreSQL here trusts local connections, so it takes any password: enough to show
    what is printed."""
    skip_or_fail_without_postgres()
    import asyncio

    from tests.conftest import _pg_admin

    name = f"irl_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await _pg_admin()
        await conn.execute(sql)
        await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        config = tmp_path / "config.toml"
        config.write_text(f'[database]\nurl = "postgresql+asyncpg://{PG_USER}:{PASSWORD}@'
                          f'{PG_HOST}:{PG_PORT}/{name}"\n')
        config.chmod(0o600)
        proc = migrate(config)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (f"database is up to date: postgresql+asyncpg://{PG_USER}:***@"
                           f"{PG_HOST}:{PG_PORT}/{name}\n")
    assert PASSWORD not in proc.stdout + proc.stderr


def test_a_failed_migrate_logs_no_password(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    # Nothing listens on port 9: the connection is refused, and the failure is logged.
    config.write_text(f'[database]\nurl = "postgresql+asyncpg://irl:{PASSWORD}@127.0.0.1:9/irl"\n')
    config.chmod(0o600)
    proc = migrate(config)
    assert proc.returncode == 1
    assert "irlbot migrate failed" in proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr


def test_migrate_warns_when_others_can_read_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "irl.db"}"\n')
    config.chmod(0o640)
    proc = migrate(config)
    assert proc.returncode == 0
    assert (f"{config} can be read or changed by other users (mode -rw-r-----); it may hold "
            f"tokens and passwords: chmod 600 {config}") in proc.stderr
    config.chmod(0o600)
    assert "can be read" not in migrate(config).stderr


@pytest.mark.parametrize(("text", "masked"), [
    ("postgresql+asyncpg://irl:pw@db:5432/irl", "postgresql+asyncpg://irl:***@db:5432/irl"),
    ("postgresql://:p%40ss@db/irl", "postgresql://:***@db/irl"),
    ("sqlite+aiosqlite:///irl.db", "sqlite+aiosqlite:///irl.db"),
    ("https://t.me/irlbot?start=hi", "https://t.me/irlbot?start=hi"),
])
def test_mask_url(text: str, masked: str) -> None:
    assert mask_url(text) == masked


def test_the_log_redacts_tokens_passwords_and_urls(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("irl.test.secrets")
    handler = logging.StreamHandler(stream := __import__("io").StringIO())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        install(["matrix-pass-123", "syt_access_token_abc"], logger)
        token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
        logger.warning("HTTP Request: POST https://api.telegram.org/bot%s/getMe", token)
        logger.warning("login with %s as %s", "matrix-pass-123", "@irl:example.org")
        logger.warning("GET /_matrix/media/download?access_token=syt_other&x=1")
        try:
            raise RuntimeError(f"The token `{token}` was rejected by the server.")
        except RuntimeError:
            logger.exception("start failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    written = stream.getvalue()
    assert "https://api.telegram.org/bot***/getMe" in written
    assert "login with *** as @irl:example.org" in written
    assert "access_token=***&x=1" in written
    assert "The token `***` was rejected" in written
    for secret in (token, "matrix-pass-123", "syt_other", token.split(":")[1]):
        assert secret not in written
    assert Redactor(["short"])("short") == "short"  # too short to mask without harm
