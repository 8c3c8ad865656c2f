"""Calendar feeds (issue 13): a chapter's meetups at /c/<slug>/calendar.ics, and a member's
own (/calendar in a DM) at /feed/<token>.ics, of the meetups they said yes or maybe to (or
are on the waitlist of). Each meetup keeps its UID (`meetup-<id>@irlbot`, as the calendar
files the bot sends), its SEQUENCE grows with each change, a cancelled one says
STATUS:CANCELLED, and its URL is its page. A calendar app that fetches the feed again sees
the changes."""

from __future__ import annotations

import re

from aiohttp import web
from icalendar import Event
from sqlalchemy import select

from bot.core.announce import calendar_event
from bot.core.calendar import calendar_file
from bot.core.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES, translator
from bot.core.slugs import meetup_page
from bot.db.models import CalendarToken, Chapter, Meetup, Person, Rsvp, RsvpStatus
from bot.web.pages import CHAPTER_SLUG, Pages
from bot.web.site import Site

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
FEED_STATUSES = (RsvpStatus.YES, RsvpStatus.MAYBE, RsvpStatus.WAITLIST)


def feed_event(site: Site, meetup: Meetup, chapter: Chapter) -> Event:
    """The meetup as the bot's calendar files have it, with its page as URL (an online link
    moves to the description)."""
    now = site.clock.now()
    event = calendar_event(meetup, chapter, now)
    page = meetup_page(site.settings.public_url.rstrip("/"), meetup)
    if "url" in event:
        del event["url"]
    event.add("url", page)
    description = str(event.get("description", ""))
    extra = [part for part in (meetup.online_link, page) if part]
    del event["description"]
    event.add("description", "\n\n".join([description, *extra] if description else extra))
    return event


def ics(body: bytes, private: bool) -> web.Response:
    return web.Response(body=body, content_type="text/calendar", charset="utf-8", headers={
        "Cache-Control": "private, no-cache" if private else "no-cache"})


def routes(site: Site) -> list[web.RouteDef]:
    pages = Pages(site)

    async def chapter_feed(request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        if not CHAPTER_SLUG.fullmatch(slug):
            return pages.not_found()
        async with site.db.transaction() as s:
            chapter = await s.scalar(select(Chapter).where(Chapter.slug == slug))
            if chapter is None:
                return pages.not_found()
            meetups = list(await s.scalars(
                select(Meetup).where(Meetup.chapter_id == chapter.id,
                                     Meetup.starts_at.is_not(None))
                .order_by(Meetup.starts_at, Meetup.id)))
        file = calendar_file(f"{slug}.ics", [feed_event(site, m, chapter) for m in meetups],
                             chapter.name)
        return ics(file.content, private=False)

    async def personal_feed(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not TOKEN.fullmatch(token):
            return pages.not_found()
        async with site.db.transaction() as s:
            person = await s.scalar(select(Person).join(
                CalendarToken, CalendarToken.person_id == Person.id)
                .where(CalendarToken.token == token))
            if person is None:
                return pages.not_found()
            rows = (await s.execute(
                select(Meetup, Chapter).join(Rsvp, Rsvp.meetup_id == Meetup.id)
                .join(Chapter, Chapter.id == Meetup.chapter_id)
                .where(Rsvp.person_id == person.id, Rsvp.status.in_(FEED_STATUSES),
                       Meetup.starts_at.is_not(None))
                .order_by(Meetup.starts_at, Meetup.id))).all()
        language = person.language if person.language in SUPPORTED_LANGUAGES else (
            rows[0][1].language if rows else DEFAULT_LANGUAGE)
        _ = translator(language)
        file = calendar_file("meetups.ics", [feed_event(site, m, c) for m, c in rows],
                             _("My meetups"))
        return ics(file.content, private=True)

    return [web.get("/c/{slug}/calendar.ics", chapter_feed),
            web.get(r"/feed/{token}.ics", personal_feed)]
