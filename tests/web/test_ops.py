"""What the operator sees: /healthz while the process lives, /readyz with the reason it
can't serve."""

from __future__ import annotations

import aiohttp

from bot.readiness import Readiness
from bot.web.server import WebServer


async def test_healthz_and_readyz_say_why_not_ready(web: WebServer, readiness: Readiness) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(web.url + "/healthz") as resp:
            assert resp.status == 200 and (await resp.json()) == {"alive": True}
        async with http.get(web.url + "/readyz") as resp:
            assert resp.status == 503  # nothing checked yet
        readiness.database_ok()
        readiness.reading("telegram")
        async with http.get(web.url + "/readyz") as resp:
            assert resp.status == 200 and (await resp.json())["ready"] is True
        readiness.not_reading("matrix", "the homeserver can't be reached")
        async with http.get(web.url + "/readyz") as resp:
            body = await resp.json()
        assert resp.status == 503
        assert body["parts"]["matrix"]["reason"] == "the homeserver can't be reached"
        async with http.get(web.url + "/no/such/page") as resp:
            assert resp.status == 404
