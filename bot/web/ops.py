"""What the operator asks: is the process alive (/healthz), can it serve (/readyz), what is
it doing (/metrics, Prometheus's text format: bot/web/metrics.py)."""

from __future__ import annotations

from aiohttp import web

from bot.web.metrics import CONTENT_TYPE
from bot.web.site import Site


def routes(site: Site) -> list[web.RouteDef]:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def readyz(_request: web.Request) -> web.Response:
        if site.readiness is None:  # the demo: nothing to wait for
            return web.json_response({"ready": True, "parts": {}})
        snapshot = site.readiness.snapshot()
        return web.json_response(snapshot, status=200 if snapshot["ready"] else 503)

    async def metrics(_request: web.Request) -> web.Response:
        body = await site.metrics.render(site.db)
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    return [web.get("/healthz", healthz), web.get("/readyz", readyz),
            web.get("/metrics", metrics)]
