"""The `[web]` section of the config, as bot.config checked and built it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    # The live wall: words that keep a post off it, and where its photos are kept (None: a
    # "wall-photos" folder beside an SQLite database, else in the working directory).
    wall_blocklist: tuple[str, ...] = ()
    photo_dir: Path | None = None
    sse_per_wall: int = 200  # open live pages a wall serves at most
