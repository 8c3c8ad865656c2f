"""The chapter and event pages (issue 13): `/` lists every chapter with its city and next
meetup, `/c/<slug>` a chapter's upcoming and past meetups, `/m/<id>` or `/m/<id>-<title>`
one meetup. Counts only, never a member's name. Each page is in its chapter's language, with
OpenGraph tags for link previews and a schema.org Event in JSON-LD; no JavaScript."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup
from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.i18n import DEFAULT_LANGUAGE, N_, SUPPORTED_LANGUAGES, format_span, translator
from bot.core.slugs import (
    chapter_feed,
    chapter_page,
    meetup_id_of,
    meetup_page,
    meetup_slug,
    webcal,
)
from bot.db.models import (
    AdapterState,
    Chapter,
    ChatBinding,
    Meetup,
    MeetupStatus,
    Rsvp,
    RsvpStatus,
)
from bot.web.site import Site

CHAPTER_SLUG = re.compile(r"[a-z0-9-]{1,80}")
PAST_SHOWN = 50  # the latest held meetups on a chapter's page
HTML = "text/html"

# The pages' own words; the counts and dates reuse the bot's texts.
TEXTS = {
    "chapters": N_("Meetup chapters"),
    "chapters_intro": N_("Find the chapter near you, see its next meetup and answer in the chat."),
    "no_chapters": N_("No chapters yet."),
    "next": N_("Next meetup:"),
    "none_planned": N_("No meetup planned yet."),
    "upcoming": N_("Upcoming meetups"),
    "past": N_("Past meetups"),
    "no_past": N_("None held yet."),
    "voting": N_("date still being voted on"),
    "cancelled": N_("Cancelled"),
    "when": N_("When"),
    "where": N_("Where"),
    "map": N_("map"),
    "online": N_("Join online"),
    "hashtag": N_("The hashtag"),
    "answer": N_("Answer in the chat"),
    "telegram": N_("on Telegram"),
    "matrix": N_("on Matrix"),
    "answer_or": N_("Or send /rsvp yes in the chapter's group chat."),
    "answer_hint": N_("Send /rsvp yes in the chapter's group chat."),
    "subscribe": N_("Subscribe to the chapter's calendar"),
    "calendar_file": N_("calendar file"),
    "private_feed": N_("Your own calendar of the meetups you said yes to: send /calendar to "
                       "the bot in a private chat."),
    "chapter_of": N_("A meetup of"),
    "not_found": N_("Not found"),
    "not_found_text": N_("There is no such page. Perhaps the meetup or chapter has another "
                         "address now."),
    "all_chapters": N_("All chapters"),
    "no_limit": N_("no limit"),
    "seats_left": N_("Seats left"),
    "going": N_("Going"),
    "waitlist": N_("Waitlist"),
    "checked_in": N_("Checked in"),
}


@dataclass(frozen=True)
class Counts:
    going: int = 0  # seats taken: those who said yes and their guests
    maybe: int = 0
    waiting: int = 0
    checked_in: int = 0


async def counts_of(s: AsyncSession, meetup_ids: list[int]) -> dict[int, Counts]:
    """The counts of each meetup in one query (no names)."""
    if not meetup_ids:
        return {}
    yes = Rsvp.status == RsvpStatus.YES
    rows = await s.execute(
        select(Rsvp.meetup_id,
               func.coalesce(func.sum(case((yes, 1 + Rsvp.guests), else_=0)), 0),
               func.sum(case((Rsvp.status == RsvpStatus.MAYBE, 1), else_=0)),
               func.sum(case((Rsvp.status == RsvpStatus.WAITLIST, 1), else_=0)),
               func.count(Rsvp.checked_in_at))
        .where(Rsvp.meetup_id.in_(meetup_ids)).group_by(Rsvp.meetup_id))
    return {row[0]: Counts(int(row[1] or 0), int(row[2] or 0), int(row[3] or 0),
                           int(row[4] or 0)) for row in rows}


def page_language(chapter: Chapter) -> str:
    return chapter.language if chapter.language in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def json_ld(data: Any) -> Markup:
    """JSON for a <script type="application/ld+json">: nothing in it can close the script or
    open a comment ("<", ">" and "&" written as \\u escapes)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # escaped above for the script element


def map_link(venue: str, city: str) -> str:
    query = venue if city.lower() in venue.lower() else f"{venue}, {city}"
    return "https://www.openstreetmap.org/search?" + urlencode({"query": query})


def iso(moment: datetime | None, timezone: str) -> str | None:
    return None if moment is None else moment.astimezone(ZoneInfo(timezone)).isoformat()


class Pages:
    def __init__(self, site: Site) -> None:
        self.site = site

    @property
    def public_url(self) -> str:
        return self.site.settings.public_url.rstrip("/")

    def html(self, name: str, status: int = 200, **values: Any) -> web.Response:
        return web.Response(text=self.site.render(name, **values), status=status,
                            content_type=HTML, charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    def not_found(self, language: str = DEFAULT_LANGUAGE) -> web.Response:
        words = self.texts(language)
        return self.html("not_found.html", status=404, lang=language, t=words,
                         home=self.public_url + "/", url=self.public_url + "/",
                         title=words["not_found"])

    @staticmethod
    def texts(language: str) -> dict[str, str]:
        _ = translator(language)
        return {key: _(msgid) for key, msgid in TEXTS.items()}

    def when(self, meetup: Meetup, chapter: Chapter, language: str) -> str:
        if meetup.starts_at is None:
            return self.texts(language)["voting"]
        return format_span(meetup.starts_at, meetup.ends_at, chapter.timezone, language)

    def event_ld(self, meetup: Meetup, chapter: Chapter, counts: Counts) -> dict[str, Any]:
        """A schema.org Event: what search engines and link previews read."""
        online = bool(meetup.online_link)
        mode = ("Mixed" if meetup.venue else "Online") if online else "Offline"
        data: dict[str, Any] = {
            "@type": "Event", "name": meetup.title,
            "url": meetup_page(self.public_url, meetup),
            "startDate": iso(meetup.starts_at, chapter.timezone),
            "endDate": iso(meetup.ends_at, chapter.timezone),
            "eventStatus": "https://schema.org/" + (
                "EventCancelled" if meetup.status == MeetupStatus.CANCELLED
                else "EventScheduled"),
            "eventAttendanceMode": f"https://schema.org/{mode}EventAttendanceMode",
            "organizer": {"@type": "Organization", "name": chapter.name,
                          "url": chapter_page(self.public_url, chapter)},
            "description": meetup.about,
            "maximumAttendeeCapacity": meetup.capacity,
            "remainingAttendeeCapacity": (max(meetup.capacity - counts.going, 0)
                                          if meetup.capacity else None),
        }
        locations: list[dict[str, Any]] = []
        if meetup.venue:
            locations.append({"@type": "Place", "name": meetup.venue,
                              "address": {"@type": "PostalAddress",
                                          "addressLocality": chapter.city}})
        if online:
            locations.append({"@type": "VirtualLocation", "url": meetup.online_link})
        if locations:
            data["location"] = locations[0] if len(locations) == 1 else locations
        return {k: v for k, v in data.items() if v is not None}

    def row(self, meetup: Meetup, chapter: Chapter, counts: Counts,
            language: str) -> dict[str, Any]:
        """One meetup in a list: its link, title, time, place, and counts."""
        _ = translator(language)
        cancelled = meetup.status == MeetupStatus.CANCELLED
        going = (_.np("rsvp count", "{n}/{max} going", "{n}/{max} going", counts.going,
                      max=meetup.capacity) if meetup.capacity
                 else _.np("rsvp count", "{n} going", "{n} going", counts.going))
        return {"url": meetup_page(self.public_url, meetup), "title": meetup.title,
                "when": self.when(meetup, chapter, language), "venue": meetup.venue,
                "cancelled": cancelled, "going": going,
                "checked_in": _.n("{n} checked in", "{n} checked in", counts.checked_in)}

    # --- the pages ---------------------------------------------------------------------------

    async def index(self, _request: web.Request) -> web.Response:
        now = self.site.clock.now()
        async with self.site.db.transaction() as s:
            chapters = list(await s.scalars(select(Chapter).where(Chapter.slug.is_not(None))
                                            .order_by(Chapter.name, Chapter.id)))
            upcoming = list(await s.scalars(
                select(Meetup).where(Meetup.status == MeetupStatus.SCHEDULED,
                                     Meetup.starts_at > now)
                .order_by(Meetup.starts_at, Meetup.id)))
        first: dict[int, Meetup] = {}
        for meetup in upcoming:
            first.setdefault(meetup.chapter_id, meetup)
        languages = Counter(page_language(c) for c in chapters)
        language = (languages.most_common(1)[0][0]
                    if chapters and languages.most_common(1)[0][1] > len(chapters) / 2
                    else DEFAULT_LANGUAGE)
        rows = []
        for chapter in chapters:
            next_one = first.get(chapter.id)
            rows.append({"name": chapter.name, "city": chapter.city,
                         "url": chapter_page(self.public_url, chapter),
                         "next": None if next_one is None else {
                             "url": meetup_page(self.public_url, next_one),
                             "title": next_one.title,
                             "when": self.when(next_one, chapter, language)}})
        words = self.texts(language)
        return self.html("index.html", lang=language, t=words, chapters=rows,
                         title=words["chapters"], description=words["chapters_intro"],
                         url=self.public_url + "/")

    async def chapter(self, request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        if not CHAPTER_SLUG.fullmatch(slug):
            return self.not_found()
        now = self.site.clock.now()
        async with self.site.db.transaction() as s:
            chapter = await s.scalar(select(Chapter).where(Chapter.slug == slug))
            if chapter is None:
                return self.not_found()
            upcoming = list(await s.scalars(
                select(Meetup).where(Meetup.chapter_id == chapter.id,
                                     or_(Meetup.starts_at.is_(None), Meetup.starts_at > now))
                .order_by(Meetup.starts_at.is_(None), Meetup.starts_at, Meetup.id)))
            past = list(await s.scalars(
                select(Meetup).where(Meetup.chapter_id == chapter.id,
                                     Meetup.status == MeetupStatus.SCHEDULED,
                                     Meetup.starts_at <= now)
                .order_by(Meetup.starts_at.desc(), Meetup.id.desc()).limit(PAST_SHOWN)))
            counts = await counts_of(s, [m.id for m in upcoming + past])
        language = page_language(chapter)
        _ = translator(language)
        words = self.texts(language)
        feed = chapter_feed(self.public_url, chapter)
        upcoming_rows = [self.row(m, chapter, counts.get(m.id, Counts()), language)
                         for m in upcoming]
        description = (_("{chapter} in {city}. Next: {what}", chapter=chapter.name,
                         city=chapter.city,
                         what=f"{upcoming_rows[0]['title']}, {upcoming_rows[0]['when']}")
                       if upcoming_rows else
                       _("{chapter}, a meetup chapter in {city}.", chapter=chapter.name,
                         city=chapter.city))
        graph = [self.event_ld(m, chapter, counts.get(m.id, Counts())) for m in upcoming
                 if m.starts_at is not None]
        return self.html(
            "chapter.html", lang=language, t=words, chapter=chapter, title=chapter.name,
            description=description, url=chapter_page(self.public_url, chapter),
            upcoming=upcoming_rows,
            past=[self.row(m, chapter, counts.get(m.id, Counts()), language) for m in past],
            feed=feed, webcal=webcal(feed), home=self.public_url + "/",
            ld=json_ld({"@context": "https://schema.org", "@graph": graph}))

    async def meetup(self, request: web.Request) -> web.Response:
        meetup_id = meetup_id_of(request.match_info["key"])
        if meetup_id is None:
            return self.not_found()
        async with self.site.db.transaction() as s:
            meetup = await s.get(Meetup, meetup_id)
            if meetup is None:
                return self.not_found()
            chapter = await s.get_one(Chapter, meetup.chapter_id)
            counts = (await counts_of(s, [meetup.id])).get(meetup.id, Counts())
            chats = list(await s.scalars(select(ChatBinding)
                                         .where(ChatBinding.chapter_id == chapter.id)
                                         .order_by(ChatBinding.id)))
            username = await s.scalar(select(AdapterState.value).where(
                AdapterState.platform == "telegram", AdapterState.key == "username"))
        language = page_language(chapter)
        _ = translator(language)
        words = self.texts(language)
        answer_links = []
        if username and any(c.platform == "telegram" for c in chats):
            answer_links.append({"label": words["telegram"], "url": "https://t.me/" + quote(
                username) + "?start=" + quote(f"m{meetup.id}")})
        for chat in chats:
            if chat.platform == "matrix":
                answer_links.append({"label": words["matrix"],
                                     "url": "https://matrix.to/#/" + quote(chat.chat_id,
                                                                          safe="!:@#.")})
        when = self.when(meetup, chapter, language)
        seats_left = (str(max(meetup.capacity - counts.going, 0)) if meetup.capacity
                      else words["no_limit"])
        url = meetup_page(self.public_url, meetup)
        feed = chapter_feed(self.public_url, chapter)
        ld = self.event_ld(meetup, chapter, counts) if meetup.starts_at is not None else {
            "@type": "Event", "name": meetup.title, "url": url}
        return self.html(
            "meetup.html", lang=language, t=words, chapter=chapter, meetup=meetup,
            title=meetup.title, url=url, canonical_slug=meetup_slug(meetup),
            description=", ".join(p for p in (when, meetup.venue, chapter.name) if p),
            when=when, start_iso=iso(meetup.starts_at, chapter.timezone),
            cancelled=meetup.status == MeetupStatus.CANCELLED,
            map=map_link(meetup.venue, chapter.city) if meetup.venue else None,
            going=counts.going, maybe=counts.maybe, waiting=counts.waiting,
            checked_in=counts.checked_in, seats_left=seats_left,
            maybe_line=_.np("rsvp count", "{n} maybe", "{n} maybe", counts.maybe),
            answer_links=answer_links, chapter_url=chapter_page(self.public_url, chapter),
            feed=feed, webcal=webcal(feed),
            ld=json_ld({"@context": "https://schema.org", **ld}))


def routes(site: Site) -> list[web.RouteDef]:
    pages = Pages(site)
    return [web.get("/", pages.index), web.get("/c/{slug}", pages.chapter),
            web.get("/m/{key}", pages.meetup)]
