"""A throwaway Synapse homeserver for tests and the benchmark.

Runs `synapse.app.homeserver` as a subprocess on 127.0.0.1 with SQLite in a folder of its
own. Message rate limits stay at Synapse's defaults (0.2/s, burst 10); every user registered
with `unlimited=True` gets the admin `override_ratelimit` (0 = no limit), so tests run fast
while one bot account can still meet the homeserver's normal limits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_NAME = "localhost"
_HIGH = {"per_second": 1000, "burst_count": 10000}


@dataclass(frozen=True)
class Account:
    user_id: str
    password: str
    access_token: str
    device_id: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(base: Path, port: int, secret: str) -> dict[str, Any]:
    return {
        "server_name": SERVER_NAME,
        "pid_file": str(base / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(base / "homeserver.db")}},
        "log_config": str(base / "log.yaml"),
        "media_store_path": str(base / "media"),
        "signing_key_path": str(base / "signing.key"),
        "registration_shared_secret": secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "presence": {"enabled": False},
        "bcrypt_rounds": 4,
        "enable_metrics": False,
        "url_preview_enabled": False,
        # Normal message limits; tests lift them per user through override_ratelimit.
        "rc_message": {"per_second": 0.2, "burst_count": 10},
        "rc_registration": _HIGH,
        "rc_login": {"address": _HIGH, "account": _HIGH, "failed_attempts": _HIGH},
        "rc_joins": {"local": _HIGH, "remote": _HIGH},
        "rc_joins_per_room": _HIGH,
        "rc_invites": {"per_room": _HIGH, "per_user": _HIGH, "per_issuer": _HIGH},
        "rc_room_creation": _HIGH,
        "rc_admin_redaction": _HIGH,
        "rc_3pid_validation": _HIGH,
        "rc_key_requests": _HIGH,
        "rc_delayed_event_mgmt": _HIGH,
        "rc_profile": _HIGH,
        "rc_user_directory": _HIGH,
    }


def _log_config(base: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "plain",
                "filename": str(base / "homeserver.log"),
            }
        },
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


def _write_signing_key(path: Path) -> None:
    from signedjson.key import generate_signing_key, write_signing_keys

    with path.open("w") as f:
        write_signing_keys(f, [generate_signing_key("a_test")])


class SynapseServer:
    def __init__(self, base: Path, port: int | None = None) -> None:
        self.base = base
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secrets.token_hex(16)
        self._proc: subprocess.Popen[bytes] | None = None
        self._admin_token: str | None = None
        self._n = 0

    # -- lifecycle -------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        # JSON is valid YAML, so no YAML writer is needed.
        (self.base / "homeserver.yaml").write_text(
            json.dumps(_config(self.base, self.port, self.secret), indent=1)
        )
        (self.base / "log.yaml").write_text(json.dumps(_log_config(self.base)))
        if not (self.base / "signing.key").exists():
            _write_signing_key(self.base / "signing.key")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c",
             str(self.base / "homeserver.yaml")],
            cwd=self.base,
            stdout=(self.base / "stdout.log").open("ab"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "SYNAPSE_CACHE_FACTOR": "0.1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"synapse exited with {self._proc.returncode}; see {self.base}/stdout.log"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError("synapse did not come up")

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    # -- HTTP ------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: {e.code} {e.read().decode()}") from e

    # -- users -----------------------------------------------------------------------

    def register(
        self, localpart: str, *, admin: bool = False, unlimited: bool = True,
        displayname: str | None = None,
    ) -> Account:
        """Registers through the shared-secret admin API; returns a logged-in account."""
        password = "pw-" + secrets.token_hex(6)
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        # The HMAC covers the parts joined by NUL, with no trailing NUL.
        mac = hmac.new(
            self.secret.encode(),
            b"\x00".join(
                p.encode() for p in (nonce, localpart, password, "admin" if admin else "notadmin")
            ),
            hashlib.sha1,
        )
        body: dict[str, Any] = {
            "nonce": nonce, "username": localpart, "password": password,
            "admin": admin, "mac": mac.hexdigest(),
        }
        if displayname:
            body["displayname"] = displayname
        out = self.request("POST", "/_synapse/admin/v1/register", body)
        account = Account(out["user_id"], password, out["access_token"], out["device_id"])
        if unlimited and not admin:
            self.lift_ratelimit(account.user_id)
        return account

    def unique(self, prefix: str) -> str:
        """A fresh localpart: one Synapse serves the whole session, so names must not repeat."""
        self._n += 1
        return f"{prefix}{self._n}x{secrets.token_hex(2)}"

    @property
    def admin_token(self) -> str:
        if self._admin_token is None:
            self._admin_token = self.register(self.unique("admin"), admin=True).access_token
        return self._admin_token

    def lift_ratelimit(self, user_id: str) -> None:
        self.request(
            "POST", f"/_synapse/admin/v1/users/{user_id}/override_ratelimit",
            {"messages_per_second": 0, "burst_count": 0}, token=self.admin_token,
        )
