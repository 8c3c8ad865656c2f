"""Web addresses of chapters and meetups (issue 13): a chapter's page is /c/<slug>, its slug
made from its name at /setup (unique, kept when the name changes, so shared links keep
working); a meetup's page is /m/<id> or /m/<id>-<title slug>, where the id alone decides."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Chapter, Meetup

MAX_SLUG = 60
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
MEETUP_KEY = re.compile(r"([0-9]{1,12})(?:-[a-z0-9-]{0,200})?")


def slugify(text: str, fallback: str = "chapter") -> str:
    """'SMC Den Bosch' -> 'smc-den-bosch'; 'Café Überdruck' -> 'cafe-uberdruck'; only a-z, 0-9
    and single dashes. Text with nothing of those gives `fallback`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")[:MAX_SLUG].strip("-")
    return slug or fallback


def unique_slug(base: str, taken: Callable[[str], bool]) -> str:
    """`base`, or `base-2`, `base-3`, ... the first one not `taken`."""
    if not taken(base):
        return base
    n = 2
    while taken(f"{base}-{n}"):
        n += 1
    return f"{base}-{n}"


async def new_chapter_slug(s: AsyncSession, name: str) -> str:
    base = slugify(name)
    taken = set(await s.scalars(select(Chapter.slug).where(Chapter.slug.startswith(base))))
    return unique_slug(base, taken.__contains__)


def meetup_slug(meetup: Meetup) -> str:
    """'12-borrel' for meetup 12 titled 'Borrel'; '12' when the title has no letters for it."""
    title = slugify(meetup.title, fallback="")
    return f"{meetup.id}-{title}" if title else str(meetup.id)


def meetup_id_of(key: str) -> int | None:
    """The meetup id in a page address: '12' and '12-borrel' (or an older title) -> 12."""
    match = MEETUP_KEY.fullmatch(key)
    return int(match.group(1)) if match else None


def chapter_page(public_url: str, chapter: Chapter) -> str:
    return f"{public_url}/c/{chapter.slug}"


def meetup_page(public_url: str, meetup: Meetup) -> str:
    return f"{public_url}/m/{meetup_slug(meetup)}"


def chapter_feed(public_url: str, chapter: Chapter) -> str:
    return f"{public_url}/c/{chapter.slug}/calendar.ics"


def personal_feed(public_url: str, token: str) -> str:
    return f"{public_url}/feed/{token}.ics"


def webcal(url: str) -> str:
    """The same feed as a calendar app's subscribe link."""
    return re.sub(r"^https?://", "webcal://", url)
