"""The `[web]` section of the config, as bot.config checked and built it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"  # what members reach, used in links; no "/" at the end
    max_body_bytes: int = 64 * 1024  # the largest request the server reads
