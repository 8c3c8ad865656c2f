"""Chapters and people: /start, /setup, /intro, /remind, /language, /next."""

from __future__ import annotations

import functools
import re
from zoneinfo import available_timezones

from sqlalchemy import bindparam, select

from bot.core.announce import describe, rsvp_buttons
from bot.core.dates import parse_offsets
from bot.core.errors import UserError
from bot.core.i18n import SUPPORTED_LANGUAGES, format_durations, translator
from bot.core.outbox import Posted
from bot.core.people import ensure_membership, note_admin
from bot.core.queries import chapter_chats, chapter_ids_of
from bot.core.reminders import schedule_person
from bot.core.slugs import chapter_page, new_chapter_slug
from bot.core.syntax import split_args
from bot.core.text import one_line, visible
from bot.core.work import Ctx
from bot.db.models import (
    Chapter,
    ChatBinding,
    Interest,
    Meetup,
    MeetupStatus,
    OrganiserReason,
    PostKind,
    Rsvp,
    RsvpStatus,
)

MAX_NAME = 120
START_MEETUP = re.compile(r"m([0-9]{1,12})")
MAX_INTRO = 200


async def start(ctx: Ctx, args: str) -> None:
    _ = ctx._
    if not ctx.is_private:
        ctx.reply(_("Hi! Send me /start in a private chat so I can remind you of "
                          "meetups. /help lists what I can do."))
        return
    ctx.reply(_("Hi {name}! I'm IRL, the meetup bot: I run polls for dates, keep track of "
                      "who is coming and remind you before a meetup. You'll get your reminders "
                      "here. Tell others who you are with /intro, and see /help for the rest.",
                      name=ctx.sender.name))
    await offer_meetup(ctx, args.strip())


async def offer_meetup(ctx: Ctx, payload: str) -> None:
    """`/start m12`, from a meetup page's "answer in the chat" link (t.me/<bot>?start=m12):
    the meetup with its RSVP buttons, filed so a tap answers for it."""
    match = START_MEETUP.fullmatch(payload)
    if match is None:
        return
    meetup = await ctx.s.get(Meetup, int(match.group(1)))
    if (meetup is None or meetup.status != MeetupStatus.SCHEDULED or meetup.starts_at is None
            or meetup.starts_at <= ctx.now):
        return
    chapter = await ctx.s.get_one(Chapter, meetup.chapter_id)
    _ = ctx._
    ctx.out.text(ctx.chat, _("{what}\nComing? Answer below.",
                             what=describe(meetup, chapter, ctx.lang)),
                 rsvp_buttons(meetup.id, ctx.lang),
                 record=Posted(chapter.id, PostKind.DM_ANNOUNCEMENT, meetup_id=meetup.id))


async def setup(ctx: Ctx, args: str) -> None:
    """`/setup` makes a group a chapter (its admins), or changes the chapter's name, city,
    timezone and language: only for its named organisers (/organisers), or an admin of the chat
    where it was set up. Admins of a chat linked later can't take the chapter over with it."""
    ctx.require_group()
    chapter = ctx.chapter
    named = ctx.membership is not None and ctx.membership.is_organiser
    if not ctx.is_admin and not named:
        raise UserError("Only the group's admins can set up a chapter.")
    if chapter is not None and not named:
        home = (await chapter_chats(ctx.s, chapter.id))[0]
        if not (ctx.is_admin and home == ctx.chat):
            raise UserError("This chat belongs to the chapter {name}. Only its organisers (see "
                            "/organisers) or the admins of the chat where it was set up can "
                            "change it.", name=chapter.name)
    parts = split_args(args)
    name, city, timezone, language = (one_line(p) for p in [*parts, "", "", "", ""][:4])
    if len(parts) != 4 or not all(visible(p) for p in (name, city, timezone, language)):
        raise UserError("Write it like: /setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl")
    if len(name) > MAX_NAME or len(city) > MAX_NAME:
        raise UserError("Keep the name and the city under {max} characters.", max=MAX_NAME)
    if timezone not in _timezones():
        raise UserError("I don't know the timezone “{tz}”. Write it like Europe/Amsterdam.",
                        tz=timezone[:60])
    language = language.lower()
    if language not in SUPPORTED_LANGUAGES:
        raise UserError("The language must be one of: {langs}.", langs=", ".join(SUPPORTED_LANGUAGES))
    if chapter is None:
        chapter = Chapter(name=name, city=city, timezone=timezone, language=language,
                          slug=await new_chapter_slug(ctx.s, name), created_at=ctx.now)
        ctx.s.add(chapter)
        await ctx.s.flush()
        ctx.s.add(ChatBinding(chapter_id=chapter.id, platform=ctx.chat.platform,
                              chat_id=ctx.chat.id))
        await ctx.s.flush()
        membership = await ensure_membership(ctx.s, chapter, ctx.person, ctx.now)
        membership.is_organiser = True
        membership.organiser_reason = OrganiserReason.SETUP
        membership.organiser_since = ctx.now
        await note_admin(ctx.s, ctx.chat, ctx.person, True, ctx.now)
    else:
        chapter.name, chapter.city, chapter.timezone, chapter.language = (
            name, city, timezone, language)
        if chapter.slug is None:
            chapter.slug = await new_chapter_slug(ctx.s, name)
    await ctx.s.flush()
    _ = translator(language)
    text = _("This chat is now the chapter {name} ({city}, {tz}). Organisers can start "
             "with /newmeetup; everyone can send me /start in a private chat to get "
             "reminders.", name=name, city=city, tz=timezone)
    if public_url := ctx.svc.settings.public_url:
        text += "\n" + _("The chapter's page: {url}", url=chapter_page(public_url, chapter))
    ctx.reply(text)


@functools.cache
def _timezones() -> frozenset[str]:
    """The IANA names: a set lookup, so no odd text reaches the zoneinfo loader and cache."""
    return frozenset(available_timezones())


async def intro(ctx: Ctx, args: str) -> None:
    ctx.require_private()
    _ = ctx._
    line = one_line(args)
    if not visible(line):
        current = ctx.person.intro or _.p("intro", "(none yet)")
        ctx.reply(_("Your intro: {line}\nChange it with /intro <one line about you>.",
                          line=current))
        return
    if len(line) > MAX_INTRO:
        raise UserError("Keep your intro under {max} characters.", max=MAX_INTRO)
    ctx.person.intro = line
    ctx.reply(_("Thanks! Others see this next to your name in /who: {line}", line=line))


async def remind(ctx: Ctx, args: str) -> None:
    ctx.require_private()
    _ = ctx._
    text = args.strip().lower()
    if not text:
        if ctx.person.reminder_offsets == "off":
            ctx.reply(_("Your reminders are off. /remind 1d 2h turns them back on."))
            return
        current = (parse_offsets(ctx.person.reminder_offsets) if ctx.person.reminder_offsets
                   else ctx.svc.settings.reminder_offsets)
        ctx.reply(_("Your reminders: {times} before a meetup. Change them with "
                          "/remind 1d 2h, or /remind off.",
                          times=format_durations(current, ctx.lang)))
        return
    if text in ("off", "uit"):
        ctx.person.reminder_offsets = "off"
        reply = _("No more reminders. /remind 1d 2h turns them back on.")
    else:
        offsets = parse_offsets(text)
        ctx.person.reminder_offsets = " ".join(f"{m}m" for m in offsets)
        reply = _("I'll remind you {times} before each meetup you're going to.",
                  times=format_durations(offsets, ctx.lang))
    await ctx.s.flush()
    upcoming = await ctx.s.execute(
        select(Meetup, Chapter).join(Rsvp, Rsvp.meetup_id == Meetup.id)
        .join(Chapter, Chapter.id == Meetup.chapter_id)
        .where(Rsvp.person_id == ctx.person.id, Rsvp.status == RsvpStatus.YES,
               Meetup.status == MeetupStatus.SCHEDULED, Meetup.starts_at > ctx.now))
    for meetup, chapter in upcoming:
        await schedule_person(ctx, meetup, ctx.person, chapter)
    ctx.reply(reply)


async def language(ctx: Ctx, args: str) -> None:
    ctx.require_private()
    choice = args.strip().lower()
    if choice not in SUPPORTED_LANGUAGES:
        raise UserError("Write it like: /language nl or /language en")
    ctx.person.language = choice
    ctx.reply(translator(choice)("I'll speak English with you from now on."))


_INTEREST = select(Interest).where(Interest.chapter_id == bindparam("chapter"),
                                   Interest.person_id == bindparam("person"))


async def next_interest(ctx: Ctx, args: str) -> None:
    _ = ctx._
    chapter = ctx.chapter
    if chapter is None and ctx.is_private:
        ids = await chapter_ids_of(ctx.s, ctx.person.id)
        if len(ids) != 1:
            raise UserError("Send /next in the group chat of the chapter you mean.")
        chapter = await ctx.s.get_one(Chapter, ids[0])
    if chapter is None:
        chapter = ctx.require_chapter()
    exists = await ctx.s.scalar(_INTEREST, {"chapter": chapter.id, "person": ctx.person.id})
    if exists is None:
        ctx.s.add(Interest(chapter_id=chapter.id, person_id=ctx.person.id, created_at=ctx.now))
    ctx.reply(_("{name}, you'll get a DM when {chapter} announces its next meetup.",
                      name=ctx.person.display_name, chapter=chapter.name))
