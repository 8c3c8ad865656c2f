"""The `[web]` section of the config, as bot.config checked and built it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"  # what members reach, used in links; no "/" at the end
    max_body_bytes: int = 64 * 1024  # the largest request the server reads
    # Each client address may make this many requests a second, with bursts of up to
    # `request_burst` (a page with its images); beyond that: 429 with Retry-After (limits.py).
    requests_per_second: float = 20.0
    request_burst: int = 40
