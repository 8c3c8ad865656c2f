"""The live wall's pages (issue 13): `/w/<id>` for the projector, its live events
(`/w/<id>/events`, server-sent events), its photos (`/w/<id>/p/<n>.jpg`), and the moderation
page at the secret `/w/<id>/mod/<token>` (plain HTML forms: approve, hide).

The bot's thread hands live events over with WebServer.publish (after its commit); `Hub`
passes each to the open pages of its wall, at most `sse_per_wall` of them a wall. A page
shows only posts approved and not hidden, first names only, everything escaped."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import segno
from aiohttp import web
from sqlalchemy import func, select, update

from bot.core.i18n import translator
from bot.db.models import Chapter, Meetup, Rsvp, Wall, WallPost
from bot.web import photos
from bot.web.site import Site

log = logging.getLogger(__name__)

SHOWN = 100  # posts a page opens with
KEEPALIVE = 15.0  # seconds between comments that keep a quiet stream open
QUEUE = 100  # events waiting for one slow page; past that it is closed (it reconnects)


@dataclass(eq=False)
class Client:
    wall_id: str
    meetup_id: int | None
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE))


class Hub:
    """The open pages of each wall, in the web server's loop."""

    def __init__(self, per_wall: int) -> None:
        self.per_wall = per_wall
        self.clients: dict[str, set[Client]] = {}

    def join(self, wall: Wall) -> Client | None:
        here = self.clients.setdefault(wall.id, set())
        if len(here) >= self.per_wall:
            return None
        client = Client(wall.id, wall.meetup_id)
        here.add(client)
        return client

    def leave(self, client: Client) -> None:
        here = self.clients.get(client.wall_id)
        if here is not None:
            here.discard(client)
            if not here:
                del self.clients[client.wall_id]

    def dispatch(self, event: dict[str, Any]) -> None:
        if event.get("type") == "shutdown":  # the server stops: every stream ends
            for client in [c for cs in self.clients.values() for c in cs]:
                with contextlib.suppress(asyncio.QueueFull):
                    client.queue.put_nowait(None)
            return
        if event.get("type") == "here":
            targets = [c for cs in self.clients.values() for c in cs
                       if c.meetup_id == event.get("meetup")]
        else:
            targets = list(self.clients.get(str(event.get("wall")), ()))
        for client in targets:
            try:
                client.queue.put_nowait(event)
            except asyncio.QueueFull:  # a page that stopped reading: it reconnects
                with contextlib.suppress(asyncio.QueueFull):
                    client.queue.get_nowait()
                    client.queue.put_nowait(None)


def not_found() -> web.HTTPNotFound:
    return web.HTTPNotFound(text="<!doctype html><title>Not found</title><h1>Not found</h1>",
                            content_type="text/html")


def texts(language: str, hashtag: str) -> dict[str, str]:
    t = translator(language)
    return {
        "how": t("Post with {hashtag} in the chapter's chat, or send it to the bot in a "
                 "private chat.", hashtag=hashtag),
        "scan": t("Scan to join"),
        "here": t("here"),
        "empty": t("No posts yet. Be the first!"),
        "closed": t("This wall is closed."),
        "moderation": t("Moderation"),
        "approve": t("Approve"),
        "hide": t("Hide"),
        "waiting": t("waiting for approval"),
        "hidden": t("hidden"),
        "shown": t("on the wall"),
    }


def routes(site: Site) -> list[web.RouteDef]:
    hub = Hub(site.settings.sse_per_wall)
    site.listeners.append(hub.dispatch)

    async def find(wall_id: str) -> tuple[Wall, Chapter, Meetup | None] | None:
        if not 1 <= len(wall_id) <= 32:
            return None
        async with site.db.transaction() as s:
            wall = await s.get(Wall, wall_id)
            if wall is None:
                return None
            chapter = await s.get_one(Chapter, wall.chapter_id)
            meetup = await s.get(Meetup, wall.meetup_id) if wall.meetup_id else None
            s.expunge_all()
        return wall, chapter, meetup

    def post_dict(wall: Wall, post: WallPost, mod: bool = False) -> dict[str, Any]:
        base = f"/w/{wall.id}/mod/{wall.token}" if mod else f"/w/{wall.id}"
        photo = f"{base}/p/{post.number}.jpg" if post.photo else None
        avatar = f"{base}/a/{post.number}.jpg" if post.avatar else None
        return {"number": post.number, "name": post.author_name, "text": post.text,
                "photo": photo, "avatar": avatar, "hidden": post.hidden,
                "approved": post.approved}

    async def wall_page(request: web.Request) -> web.Response:
        found = await find(request.match_info["wall_id"])
        if found is None:
            raise not_found()
        wall, chapter, meetup = found
        async with site.db.transaction() as s:
            posts = (await s.scalars(select(WallPost).where(
                WallPost.wall_id == wall.id, WallPost.hidden.is_(False),
                WallPost.approved.is_(True)).order_by(WallPost.number.desc()).limit(SHOWN))).all()
            here = int(await s.scalar(select(func.count()).select_from(Rsvp).where(
                Rsvp.meetup_id == wall.meetup_id, Rsvp.checked_in_at.is_not(None))) or 0)
        url = site.url(f"/w/{wall.id}")
        qr = segno.make(wall.join_url or url, error="m").svg_inline(
            scale=8, border=2, dark="#000", light="#fff")
        html = site.render(
            "wall.html", wall=wall, chapter=chapter, meetup=meetup, lang=chapter.language,
            posts=[post_dict(wall, p) for p in posts], here=here, qr=qr,
            t=texts(chapter.language, wall.hashtag), closed=wall.closed_at is not None)
        return web.Response(text=html, content_type="text/html",
                            headers={"Cache-Control": "no-store"})

    async def events(request: web.Request) -> web.StreamResponse:
        found = await find(request.match_info["wall_id"])
        if found is None:
            raise not_found()
        wall = found[0]
        client = hub.join(wall)
        if client is None:
            raise web.HTTPServiceUnavailable(text="too many open pages for this wall",
                                             headers={"Retry-After": "30"})
        try:
            response = web.StreamResponse(headers={
                "Content-Type": "text/event-stream", "Cache-Control": "no-store",
                "X-Accel-Buffering": "no"})
            await response.prepare(request)
            await response.write(b"retry: 2000\n\n")
            # What came after the page was rendered (or after the last event a reconnecting
            # browser saw), from the database: nothing falls between the page and the stream.
            after = request.query.get("after") or request.headers.get("Last-Event-ID") or ""
            if after.isdigit() and len(after) < 10:
                async with site.db.transaction() as s:
                    missed = (await s.scalars(select(WallPost).where(
                        WallPost.wall_id == wall.id, WallPost.number > int(after),
                        WallPost.hidden.is_(False), WallPost.approved.is_(True))
                        .order_by(WallPost.number).limit(SHOWN))).all()
                for post in missed:
                    data = {"type": "post", "wall": wall.id, **post_dict(wall, post)}
                    await response.write(
                        f"id: {post.number}\nevent: post\ndata: {json.dumps(data)}\n\n".encode())
            while True:
                try:
                    event = await asyncio.wait_for(client.queue.get(), KEEPALIVE)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if event is None:
                    break
                kind = str(event.get("type"))
                data = dict(event)
                for key, part in (("photo", "p"), ("avatar", "a")):
                    if key in data:  # the page's own address, wherever it is reached
                        data[key] = (f"/w/{wall.id}/{part}/{data['number']}.jpg"
                                     if data[key] else None)
                event_id = f"id: {data['number']}\n" if kind == "post" else ""
                await response.write(
                    f"{event_id}event: {kind}\ndata: {json.dumps(data)}\n\n".encode())
            return response
        finally:
            hub.leave(client)

    async def photo(request: web.Request) -> web.StreamResponse:
        """A post's photo (or its author's avatar, /a/): on the wall once approved; on the
        moderation page while it waits."""
        wall_id, number = request.match_info["wall_id"], request.match_info["number"]
        if not number.isdigit() or len(number) > 9 or site.photo_dir is None:
            raise not_found()
        if "token" in request.match_info:
            await mod_wall(request)
        column = WallPost.avatar if request.match_info.get("kind") == "a" else WallPost.photo
        query = select(column).where(
            WallPost.wall_id == wall_id, WallPost.number == int(number),
            WallPost.hidden.is_(False))
        if "token" not in request.match_info:
            query = query.where(WallPost.approved.is_(True))
        async with site.db.transaction() as s:
            name = await s.scalar(query)
        path = photos.path_of(site.photo_dir, name) if name else None
        if path is None:
            raise not_found()
        return web.FileResponse(path, headers={"Content-Type": "image/jpeg",
                                               "Cache-Control": "public, max-age=86400"})

    async def mod_wall(request: web.Request) -> tuple[Wall, Chapter, Meetup | None]:
        found = await find(request.match_info["wall_id"])
        if found is None or not hmac.compare_digest(found[0].token.encode(),
                                                    request.match_info["token"].encode()):
            raise not_found()
        return found

    async def mod_page(request: web.Request) -> web.Response:
        wall, chapter, meetup = await mod_wall(request)
        async with site.db.transaction() as s:
            posts = (await s.scalars(select(WallPost).where(WallPost.wall_id == wall.id)
                                     .order_by(WallPost.number.desc()).limit(500))).all()
        html = site.render("wall_mod.html", wall=wall, chapter=chapter, meetup=meetup,
                           lang=chapter.language,
                           posts=[post_dict(wall, p, mod=True) for p in posts],
                           t=texts(chapter.language, wall.hashtag))
        return web.Response(text=html, content_type="text/html",
                            headers={"Cache-Control": "no-store",
                                     "Referrer-Policy": "no-referrer",
                                     "X-Robots-Tag": "noindex"})

    async def mod_action(request: web.Request) -> web.Response:
        wall, _chapter, _meetup = await mod_wall(request)
        action, number = request.match_info["action"], request.match_info["number"]
        if not number.isdigit() or len(number) > 9:
            raise not_found()
        async with site.db.transaction() as s:
            post = await s.scalar(select(WallPost).where(WallPost.wall_id == wall.id,
                                                         WallPost.number == int(number)))
            if post is None:
                raise not_found()
            event: dict[str, Any] | None = None
            if action == "hide" and not post.hidden:
                await s.execute(update(WallPost).where(WallPost.id == post.id)
                                .values(hidden=True))
                event = {"type": "hide", "wall": wall.id, "number": post.number}
            elif action == "approve" and not post.approved and not post.hidden:
                await s.execute(update(WallPost).where(WallPost.id == post.id)
                                .values(approved=True))
                event = {"type": "post", "wall": wall.id, "number": post.number,
                         "name": post.author_name, "text": post.text,
                         "photo": bool(post.photo), "avatar": bool(post.avatar),
                         "at": post.created_at.isoformat()}
        if event is not None:  # committed: the open pages follow
            for listener in list(site.listeners):
                listener(event)
        raise web.HTTPSeeOther(f"/w/{wall.id}/mod/{wall.token}")

    base = "/w/{wall_id}"
    return [
        web.get(base, wall_page),
        web.get(base + "/events", events),
        web.get(base + "/{kind:p|a}/{number}.jpg", photo),
        web.get(base + "/mod/{token}", mod_page),
        web.get(base + "/mod/{token}/{kind:p|a}/{number}.jpg", photo),
        web.post(base + "/mod/{token}/{action:hide|approve}/{number}", mod_action),
    ]
