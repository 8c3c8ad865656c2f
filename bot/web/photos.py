"""Wall photos (and authors' avatars, at most 96 px): shrunk to at most 1280 px, turned
upright, stripped of every metadata field (EXIF with its GPS position, comments) by
re-encoding the pixels only, and kept as JPEG files in the photo folder."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

MAX_SIDE = 1280
MAX_BYTES = 20 * 1024 * 1024  # what a platform hands over at most (Telegram: 20 MB)
Image.MAX_IMAGE_PIXELS = 50_000_000  # a "decompression bomb" is refused
SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.jpg$")


def shrink(data: bytes, side: int = MAX_SIDE) -> bytes:
    """A clean JPEG of the photo; raises when it isn't an image Pillow reads."""
    if len(data) > MAX_BYTES:
        raise ValueError("photo too large")
    with Image.open(io.BytesIO(data)) as opened:
        img = ImageOps.exif_transpose(opened)
        img.thumbnail((side, side))
        clean = Image.new("RGB", img.size)
        clean.paste(img.convert("RGB"))
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def store(folder: Path, name: str, data: bytes, side: int = MAX_SIDE) -> bool:
    if not SAFE_NAME.match(name):
        raise ValueError(f"not a photo name: {name!r}")
    try:
        jpeg = shrink(data, side)
    except Exception as exc:
        log.info("a wall photo could not be read (%s); the post is kept without it", exc)
        return False
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (name + ".part")
    tmp.write_bytes(jpeg)
    tmp.replace(folder / name)
    return True


def path_of(folder: Path, name: str) -> Path | None:
    if not SAFE_NAME.match(name):
        return None
    path = folder / name
    return path if path.is_file() else None
