"""Pictures from the homeserver's media repository (authenticated media, /_matrix/client/v1/media):
a wall post's photo and its author's avatar, fetched only once the core knows the message
goes on a wall."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nio import AsyncClient, ResizingMethod
from nio.crypto.attachments import decrypt_attachment

from bot.adapters.matrix.calls import call

MAX_BYTES = 20 * 1024 * 1024  # what the wall takes at most (as Telegram's getFile)
AVATAR_SIDE = 96


def split_mxc(mxc: object) -> tuple[str, str] | None:
    """("server", "media id") of an mxc:// address; None when it isn't one."""
    if not isinstance(mxc, str) or not mxc.startswith("mxc://"):
        return None
    server, _sep, media_id = mxc[len("mxc://"):].partition("/")
    if not server or not media_id or "/" in media_id:
        return None
    return server, media_id


async def download(client: AsyncClient, mxc: str) -> bytes:
    if split_mxc(mxc) is None:
        raise ValueError(f"not an mxc address: {mxc!r}")
    resp: Any = await call("download media", lambda: client.download(mxc=mxc))
    body = resp.body
    if not isinstance(body, bytes) or len(body) > MAX_BYTES:
        raise ValueError("the media is no picture the wall takes")
    return body


async def avatar(client: AsyncClient, mxc: str) -> bytes:
    """A member's avatar as a small thumbnail (the homeserver shrinks it; the wall shrinks
    and strips it again)."""
    parts = split_mxc(mxc)
    if parts is None:
        raise ValueError(f"not an mxc address: {mxc!r}")
    resp: Any = await call("avatar thumbnail", lambda: client.thumbnail(
        parts[0], parts[1], AVATAR_SIDE, AVATAR_SIDE, ResizingMethod.crop))
    body = resp.body
    if not isinstance(body, bytes) or len(body) > MAX_BYTES:
        raise ValueError("the avatar is no picture the wall takes")
    return body


def image_source(content: Mapping[str, Any]) -> tuple[str, Mapping[str, Any] | None] | None:
    """Where an m.image event's picture is: (mxc, None) in a plain room; (mxc, the file's
    key/iv/hashes) in an encrypted one. None when the event carries none."""
    file = content.get("file")
    if isinstance(file, Mapping) and split_mxc(file.get("url")):
        return str(file["url"]), file
    if split_mxc(content.get("url")):
        return str(content["url"]), None
    return None


async def image(client: AsyncClient, mxc: str, file: Mapping[str, Any] | None) -> bytes:
    """An m.image event's picture, decrypted when the room is encrypted."""
    data = await download(client, mxc)
    if file is None:
        return data
    key, hashes = file.get("key") or {}, file.get("hashes") or {}
    return bytes(decrypt_attachment(data, str(key.get("k")), str(hashes.get("sha256")),
                                    str(file.get("iv"))))
