"""The live wall (issue 13): /wall opens one for the current or next meetup with a hashtag;
messages in the chapter's chats (and DMs to the bot) carrying that hashtag become its posts,
shown at /w/<wall-id> by the web server (bot/web/wall.py).

The core reaches the web server through the `WallBus` port (Services.wall): the wall's public
address, the word blocklist, the photo folder, and the live events, queued on the unit's
outbox (`out.live`) and handed over after the commit, so an open page never shows a post that
was rolled back.

Chatter costs no query: adapters hand over only messages with a "#", and the hashtags of the
open walls are kept in memory for `TAGS_TTL` (a wall opened by another copy of the bot is
seen within that time; one opened here at once)."""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.core.errors import UserError
from bot.core.i18n import translator
from bot.core.messages import ChatPost
from bot.core.queries import chapter_for_chat, dm_targets
from bot.core.text import scrub
from bot.core.work import Ctx, Services, Work
from bot.db.models import Chapter, Meetup, MeetupStatus, Wall, WallBan, WallPost
from bot.db.session import Database

log = logging.getLogger(__name__)

TAGS_TTL = 5.0  # seconds the open walls' hashtags are trusted in memory
WALL_FROM = timedelta(hours=6)  # a meetup that started this long ago still gets its wall
MAX_POST = 2000
_HASHTAG = re.compile(r"#(\w{1,60})")


def hashtags(text: str) -> set[str]:
    return {"#" + tag.lower() for tag in _HASHTAG.findall(text)}


def default_hashtag(meetup: Meetup) -> str:
    """The meetup's own hashtag (/edit hashtag), else its title's letters and digits:
    "Tweetup #73" -> #tweetup73."""
    if meetup.hashtag:
        tags = hashtags(meetup.hashtag if "#" in meetup.hashtag else "#" + meetup.hashtag)
        if tags:
            return sorted(tags)[0]
    word = "".join(ch for ch in meetup.title.lower() if ch.isalnum())[:60]
    return "#" + (word or "wall")


def first_name(name: str) -> str:
    """What the wall shows of a person: the first word of their name, never a full name or
    an account id (a Matrix id's localpart at most)."""
    word = (name.strip().split() or ["?"])[0]
    if word.startswith("@"):
        word = word[1:].split(":", 1)[0]
    return word[:64] or "?"


@dataclass
class OpenHashtags:
    """The hashtags of the open walls, as this process last read them."""

    db: Database
    tags: frozenset[str] = frozenset()
    read_at: float | None = None

    def forget(self) -> None:
        self.read_at = None

    async def carries_one(self, text: str) -> bool:
        found = hashtags(text)
        if not found:
            return False
        if self.read_at is None or time.monotonic() - self.read_at > TAGS_TTL:
            async with self.db.transaction() as s:
                self.tags = frozenset((await s.scalars(
                    select(Wall.hashtag).where(Wall.closed_at.is_(None)))).all())
            self.read_at = time.monotonic()
        return bool(found & self.tags)


AVATAR_SIDE = 96  # px: the small round picture beside the first name


async def fetch_photo(post: ChatPost) -> bytes | None:
    """The photo, downloaded before the unit of work (no transaction waits on a platform)."""
    if post.photo is None:
        return None
    return await post.photo()


async def fetch_avatar(post: ChatPost) -> bytes | None:
    """The sender's avatar, when they have one; a platform that fails to hand it over
    costs the post nothing but the picture."""
    if post.avatar is None:
        return None
    try:
        return await post.avatar()
    except Exception:
        log.info("an avatar could not be fetched; the wall post goes without it",
                 exc_info=True)
        return None


def post_event(wall: Wall, post: WallPost, url: str | None) -> dict[str, Any]:
    photo = f"{url}/p/{post.number}.jpg" if url and post.photo else None
    avatar = f"{url}/a/{post.number}.jpg" if url and post.avatar else None
    return {"type": "post", "wall": wall.id, "number": post.number, "name": post.author_name,
            "text": post.text, "photo": photo, "avatar": avatar,
            "at": post.created_at.isoformat()}


def hide_event(wall: Wall, number: int) -> dict[str, Any]:
    return {"type": "hide", "wall": wall.id, "number": number}


def blocked(svc: Services, text: str) -> bool:
    words = set(re.findall(r"\w+", text.lower()))
    return any(word.lower() in words for word in svc.wall.blocklist)


async def take_post(w: Work, post: ChatPost, photo: bytes | None,
                    avatar: bytes | None = None) -> None:
    """File a message carrying an open wall's hashtag as that wall's post."""
    tags = hashtags(post.text)
    if post.is_private:  # a DM: the wall with its hashtag opened last
        chapter_ids = None
    else:
        chapter = await chapter_for_chat(w.s, post.chat)
        if chapter is None:
            return
        chapter_ids = [chapter.id]
    query = select(Wall).where(Wall.closed_at.is_(None), Wall.hashtag.in_(sorted(tags)))
    if chapter_ids is not None:
        query = query.where(Wall.chapter_id.in_(chapter_ids))
    wall = await w.s.scalar(query.order_by(Wall.opened_at.desc()).limit(1).with_for_update())
    if wall is None:
        return
    author = post.sender.id[:255]
    if await w.s.scalar(select(WallBan.id).where(
            WallBan.wall_id == wall.id, WallBan.platform == post.sender.platform,
            WallBan.author_id == author)) is not None:
        return
    text = scrub(post.text).strip()[:MAX_POST]
    number = int(await w.s.scalar(select(func.coalesce(func.max(WallPost.number), 0))
                                  .where(WallPost.wall_id == wall.id)) or 0) + 1
    name = None
    if photo is not None:
        name = f"{wall.id}-{secrets.token_hex(8)}.jpg"
        if not await w.svc.wall.save_photo(name, photo):
            name = None
    face = None
    if avatar is not None:
        face = f"{wall.id}-a{secrets.token_hex(8)}.jpg"
        if not await w.svc.wall.save_photo(face, avatar, AVATAR_SIDE):
            face = None
    entry = WallPost(wall_id=wall.id, number=number, platform=post.sender.platform,
                     author_name=first_name(post.sender.name), author_id=author, text=text,
                     photo=name, avatar=face, hidden=blocked(w.svc, text), approved=not wall.approval_first,
                     created_at=w.now,
                     source_event_id=(post.message_id or secrets.token_hex(12))[:255])
    w.s.add(entry)
    await w.s.flush()
    if entry.approved and not entry.hidden:
        w.out.live.append(post_event(wall, entry, w.svc.wall.wall_url(wall.id)))


# --- /wall ------------------------------------------------------------------------------------

async def wall_command(ctx: Ctx, args: str) -> None:
    """/wall [#tag] opens the wall; /wall hide N, ban NAME, approval on|off, close, mod."""
    chapter = ctx.require_organiser()
    ctx.require_group()
    word, _sep, rest = args.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if not word or word.startswith("#"):
        await _open(ctx, chapter, word)
        return
    wall = await _open_wall(ctx, chapter)
    if word == "hide":
        await _hide(ctx, wall, rest)
    elif word == "ban":
        await _ban(ctx, wall, rest)
    elif word == "approval" and rest.lower() in ("on", "off"):
        wall.approval_first = rest.lower() == "on"
        ctx.reply(ctx._("New posts on the wall now wait for an organiser's approval on the "
                        "moderation page.") if wall.approval_first
                  else ctx._("New posts go on the wall at once."))
    elif word == "close":
        wall.closed_at = ctx.now
        ctx.svc.wall_tags_changed()
        ctx.out.live.append({"type": "closed", "wall": wall.id})
        ctx.reply(ctx._("The wall {hashtag} is closed.", hashtag=wall.hashtag))
    elif word == "mod":
        _send_mod_link(ctx, chapter, wall, await dm_targets(ctx.s, ctx.person.id))
        ctx.reply(ctx._("{name}, I've sent you the wall's moderation page in a private chat.",
                        name=ctx.sender.name))
    else:
        raise UserError("Try /wall, /wall #tag, /wall hide 3, /wall ban Name, /wall approval "
                        "on, /wall mod or /wall close.")


async def _open_wall(ctx: Ctx, chapter: Chapter) -> Wall:
    wall = await ctx.s.scalar(select(Wall).where(Wall.chapter_id == chapter.id,
                                                 Wall.closed_at.is_(None))
                              .order_by(Wall.opened_at.desc()).limit(1))
    if wall is None:
        raise UserError("No wall is open. /wall opens one for the next meetup.")
    return wall


async def _open(ctx: Ctx, chapter: Chapter, tag: str) -> None:
    if ctx.svc.wall.wall_url("x") is None:
        raise UserError("The wall needs the web server: the bot's operator adds a [web] "
                        "section to its config.")
    if tag and not (tags := hashtags(tag)):
        raise UserError("A hashtag is # with letters or digits, like #tweetup73.")
    meetup = await ctx.s.scalar(select(Meetup).where(
        Meetup.chapter_id == chapter.id, Meetup.status == MeetupStatus.SCHEDULED,
        Meetup.starts_at >= ctx.now - WALL_FROM).order_by(Meetup.starts_at).limit(1))
    if meetup is None:
        raise UserError("There is no meetup to open a wall for. /newmeetup plans one.")
    hashtag = sorted(tags)[0] if tag else default_hashtag(meetup)
    wall = await ctx.s.scalar(select(Wall).where(Wall.chapter_id == chapter.id,
                                                 Wall.meetup_id == meetup.id,
                                                 Wall.closed_at.is_(None)))
    fresh = wall is None
    if wall is None:
        # One wall open a chapter: the previous meetup's closes.
        for old in await ctx.s.scalars(select(Wall).where(Wall.chapter_id == chapter.id,
                                                          Wall.closed_at.is_(None))):
            old.closed_at = ctx.now
            ctx.out.live.append({"type": "closed", "wall": old.id})
        # Hex: an id ending in "-" would make "-/mod" a Telegram command to defuse,
        # breaking the moderation link.
        wall = Wall(id=secrets.token_hex(12), chapter_id=chapter.id, meetup_id=meetup.id,
                    hashtag=hashtag, token=secrets.token_urlsafe(24), approval_first=False,
                    join_url=_join_url(ctx), opened_at=ctx.now)
        ctx.s.add(wall)
    elif tag:
        wall.hashtag = hashtag
    await ctx.s.flush()
    ctx.svc.wall_tags_changed()
    url = ctx.svc.wall.wall_url(wall.id)
    ctx.reply(ctx._("The wall for {title} is open: {url}\nPost with {hashtag} and it shows "
                    "there: in this chat (on Telegram as a reply to this message) or to me "
                    "in a private chat.", title=meetup.title, url=url, hashtag=wall.hashtag))
    if fresh:
        _send_mod_link(ctx, chapter, wall, await dm_targets(ctx.s, ctx.person.id))


def _join_url(ctx: Ctx) -> str | None:
    """What the wall's QR code opens: the Matrix room, or the bot on Telegram."""
    if ctx.chat.platform == "matrix":
        return f"https://matrix.to/#/{ctx.chat.id}"
    if ctx.svc.serves(ctx.chat.platform):
        hint = ctx.svc.messenger(ctx.chat.platform).start_hint(ctx.sender)
        if hint.startswith("https://"):
            return hint.split("?", 1)[0]
    return None


def _send_mod_link(ctx: Ctx, chapter: Chapter, wall: Wall, targets: list[Any]) -> None:
    if not targets:
        return
    t = translator(ctx.person.language or chapter.language)
    ctx.out.dm(targets, t("The wall {hashtag}'s moderation page, for organisers only (don't "
                          "share it): {url}", hashtag=wall.hashtag,
                          url=f"{ctx.svc.wall.wall_url(wall.id)}/mod/{wall.token}"),
               None, (ctx.person.id, chapter.id, None), name_if_refused=False)


async def hide_post(w: Work, wall: Wall, number: int) -> bool:
    post = await w.s.scalar(select(WallPost).where(WallPost.wall_id == wall.id,
                                                   WallPost.number == number))
    if post is None:
        return False
    post.hidden = True
    w.out.live.append(hide_event(wall, number))
    return True


async def approve_post(w: Work, wall: Wall, number: int) -> bool:
    post = await w.s.scalar(select(WallPost).where(WallPost.wall_id == wall.id,
                                                   WallPost.number == number))
    if post is None or post.hidden:
        return False
    if not post.approved:
        post.approved = True
        w.out.live.append(post_event(wall, post, w.svc.wall.wall_url(wall.id)))
    return True


async def _hide(ctx: Ctx, wall: Wall, rest: str) -> None:
    if not rest.isdigit():
        raise UserError("Which post? /wall hide 3 hides the post numbered 3.")
    if not await hide_post(ctx, wall, int(rest)):
        raise UserError("The wall has no post {n}.", n=int(rest))
    ctx.reply(ctx._("Post {n} is off the wall.", n=int(rest)))


async def _ban(ctx: Ctx, wall: Wall, rest: str) -> None:
    name = first_name(rest) if rest else ""
    post = await ctx.s.scalar(select(WallPost).where(
        WallPost.wall_id == wall.id, func.lower(WallPost.author_name) == name.lower())
        .order_by(WallPost.number.desc()).limit(1)) if name else None
    if post is None:
        raise UserError("No one of that name posted on the wall. /wall ban Name, as the wall "
                        "shows it.")
    if await ctx.s.scalar(select(WallBan.id).where(
            WallBan.wall_id == wall.id, WallBan.platform == post.platform,
            WallBan.author_id == post.author_id)) is None:
        ctx.s.add(WallBan(wall_id=wall.id, platform=post.platform, author_id=post.author_id,
                          created_at=ctx.now))
    theirs = await ctx.s.scalars(select(WallPost).where(
        WallPost.wall_id == wall.id, WallPost.platform == post.platform,
        WallPost.author_id == post.author_id, WallPost.hidden.is_(False)))
    for entry in theirs:
        entry.hidden = True
        ctx.out.live.append(hide_event(wall, entry.number))
    ctx.reply(ctx._("{name} can't post on the wall any more; their posts are off it.",
                    name=post.author_name))
