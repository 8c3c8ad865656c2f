"""Where a wall picture is on the homeserver: mxc addresses and an m.image's source."""

from __future__ import annotations

from bot.adapters.matrix.media import image_source, split_mxc


def test_mxc_addresses() -> None:
    assert split_mxc("mxc://example.org/AbC123") == ("example.org", "AbC123")
    for bad in ("https://example.org/x", "mxc://example.org", "mxc:///x", "mxc://a/b/c", None, 7):
        assert split_mxc(bad) is None


def test_an_images_source_plain_or_encrypted() -> None:
    assert image_source({"url": "mxc://hs/plain"}) == ("mxc://hs/plain", None)
    file = {"url": "mxc://hs/secret", "key": {"k": "x"}, "iv": "y", "hashes": {"sha256": "z"}}
    assert image_source({"file": file}) == ("mxc://hs/secret", file)
    assert image_source({"url": "https://elsewhere/x.jpg"}) is None
    assert image_source({}) is None
