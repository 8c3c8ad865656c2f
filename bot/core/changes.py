"""`/edit`: an organiser changes the next meetup without anyone losing their answer.

One field per command. Everyone who said yes or maybe and everyone on the waitlist gets one
DM with the change (old → new); those who have the calendar file get the new version with it
(same UID, higher SEQUENCE). The announcement is edited, reminders follow a new time, and
more seats move people up from the waitlist. Fewer seats than are taken is refused
(docs/decisions.md: "Fewer seats than people going")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from bot.core.announce import meetup_calendar, refresh_announcements
from bot.core.dates import parse_when
from bot.core.details import (
    check_about,
    check_hashtag,
    check_link,
    check_title,
    check_venue,
    end_after,
    read_capacity,
    read_end,
)
from bot.core.errors import UserError
from bot.core.i18n import N_, format_span, translator
from bot.core.notify import send_dm
from bot.core.queries import dm_targets_of, next_meetup, seats_taken
from bot.core.reminders import schedule_group, schedule_person
from bot.core.rsvp import promote
from bot.core.work import Ctx
from bot.db.models import (
    CalendarSent,
    Chapter,
    Meetup,
    MeetupStatus,
    Person,
    Reminder,
    ReminderStatus,
    Rsvp,
    RsvpStatus,
)

# What organisers type after /edit, in English and Dutch, and the field it names.
FIELDS = {
    "when": "when", "date": "when", "wanneer": "when", "datum": "when",
    "venue": "venue", "where": "venue", "locatie": "venue", "plek": "venue", "waar": "venue",
    "title": "title", "titel": "title", "naam": "title",
    "max": "max", "seats": "max", "plaatsen": "max",
    "about": "about", "over": "about", "info": "about",
    "ends": "ends", "end": "ends", "tot": "ends", "eindigt": "ends", "einde": "ends",
    "link": "link", "online": "link",
    "hashtag": "hashtag", "tag": "hashtag",
}
# Written instead of a value: the field is emptied (all but the date and the title).
CLEARED = frozenset({"-", "none", "geen", "off", "uit", "no limit", "geen limiet"})
REQUIRED = frozenset({"when", "title"})
HOW = N_("Write it like: /edit when friday 20:00, /edit venue Café de Unie, /edit title …, "
       "/edit max 40, /edit about …, /edit ends 22:00, /edit link https://…, "
       "/edit hashtag #tweetup (- empties one)")


@dataclass(frozen=True)
class Change:
    """One field of a meetup, before and after, shown in a reader's language."""

    field: str
    show: Callable[[Meetup, str], str]  # the field's value as shown, in a language
    old: Meetup  # a detached copy of the meetup before the change
    sequence_up: bool  # calendar files show it


def _copy(meetup: Meetup) -> Meetup:
    """The fields /edit can change, in a Meetup that is not in the session."""
    return Meetup(title=meetup.title, venue=meetup.venue, starts_at=meetup.starts_at,
                  ends_at=meetup.ends_at, capacity=meetup.capacity, about=meetup.about,
                  online_link=meetup.online_link, hashtag=meetup.hashtag)


def _label(field: str, language: str) -> str:
    _ = translator(language)
    labels = {
        # TRANSLATORS: the field a /edit changed, as in "When: Fri 19:30 → Sat 20:00".
        "when": _.p("edited field", "When"),
        "venue": _.p("edited field", "Where"),
        "title": _.p("edited field", "Title"),
        "max": _.p("edited field", "Seats"),
        "about": _.p("edited field", "About"),
        "ends": _.p("edited field", "Ends"),
        "link": _.p("edited field", "Online"),
        "hashtag": _.p("edited field", "Hashtag"),
    }
    return labels[field]


def _shower(field: str, chapter: Chapter) -> Callable[[Meetup, str], str]:
    def show(meetup: Meetup, language: str) -> str:
        _ = translator(language)
        value: object
        if field == "when":
            assert meetup.starts_at is not None
            return format_span(meetup.starts_at, meetup.ends_at, chapter.timezone, language)
        if field == "ends":
            if meetup.ends_at is None:
                return _.p("edited value", "not set")
            return meetup.ends_at.astimezone(ZoneInfo(chapter.timezone)).strftime("%H:%M")
        if field == "max":
            return (str(meetup.capacity) if meetup.capacity
                    else _.p("edited value", "no limit"))
        value = {"venue": meetup.venue, "title": meetup.title, "about": meetup.about,
                 "link": meetup.online_link, "hashtag": meetup.hashtag}[field]
        return str(value) if value else _.p("edited value", "not set")
    return show


async def edit(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_organiser()
    word, _sep, value = args.strip().partition(" ")
    field = FIELDS.get(word.lower())
    value = value.strip()
    if field is None or not value:
        raise UserError(HOW)
    cleared = value.lower() in CLEARED
    if cleared and field in REQUIRED:
        raise UserError("A meetup always has a date and a title; write the new one.")
    meetup = await next_meetup(ctx.s, chapter.id, ctx.now, include_polling=True)
    if meetup is None:
        raise UserError("There is no upcoming meetup to change.")
    if meetup.status == MeetupStatus.POLLING and field in ("when", "ends"):
        raise UserError("The date of {title} is still being voted on; change it once the poll "
                        "has closed.", title=meetup.title)
    show = _shower(field, chapter)
    old = _copy(meetup)
    before = show(old, chapter.language)
    # Told before the change: someone the new seats move up hears it from the waitlist DM.
    told = [(person, status) for person, status in (await ctx.s.execute(
        select(Person, Rsvp.status).join(Rsvp, Rsvp.person_id == Person.id)
        .where(Rsvp.meetup_id == meetup.id,
               Rsvp.status.in_([RsvpStatus.YES, RsvpStatus.MAYBE, RsvpStatus.WAITLIST]))
        .order_by(Rsvp.id))).all()]
    await _apply(ctx, chapter, meetup, field, None if cleared else value)
    after = show(meetup, chapter.language)
    if after == before:
        raise UserError("{title} already has that.", title=meetup.title)
    change = Change(field, show, old, sequence_up=field != "max")
    if change.sequence_up:
        meetup.sequence += 1
    await ctx.s.flush()
    if field == "when":
        await _plan_reminders_again(ctx, meetup, chapter)
    if field == "max":
        await promote(ctx, meetup, chapter)
    still_waiting = set(await ctx.s.scalars(select(Rsvp.person_id).where(
        Rsvp.meetup_id == meetup.id, Rsvp.status == RsvpStatus.WAITLIST)))
    told = [(p, status) for p, status in told
            if status != RsvpStatus.WAITLIST or p.id in still_waiting]
    await _tell(ctx, chapter, meetup, change, [p for p, _status in told])
    await refresh_announcements(ctx, meetup, chapter)
    _ = ctx._
    ctx.reply(_.n("{title} changed. {field}: {old} → {new}. I've sent it to the {n} person "
                  "who answered.",
                  "{title} changed. {field}: {old} → {new}. I've sent it to the {n} people "
                  "who answered.", len(told),
                  title=meetup.title, field=_label(field, ctx.lang), old=before, new=after))


async def _apply(ctx: Ctx, chapter: Chapter, meetup: Meetup, field: str,
                 value: str | None) -> None:
    """Set one field from what the organiser typed (None: empty it); bad input raises."""
    if field == "when":
        assert value is not None
        starts_at = parse_when(value, timezone=chapter.timezone, language=chapter.language,
                               now=ctx.now).at
        if meetup.ends_at is not None and meetup.starts_at is not None:
            end = meetup.ends_at.astimezone(ZoneInfo(chapter.timezone)).time()
            meetup.ends_at = end_after(starts_at, end, chapter.timezone)
        meetup.starts_at = starts_at
    elif field == "title":
        assert value is not None
        meetup.title = check_title(value)
    elif field == "venue":
        meetup.venue = check_venue(value) if value is not None else None
    elif field == "about":
        meetup.about = check_about(value) if value is not None else None
    elif field == "link":
        meetup.online_link = check_link(value) if value is not None else None
    elif field == "hashtag":
        meetup.hashtag = check_hashtag(value) if value is not None else None
    elif field == "ends":
        assert meetup.starts_at is not None
        meetup.ends_at = (end_after(meetup.starts_at, read_end(value), chapter.timezone)
                          if value is not None else None)
    elif field == "max":
        capacity = read_capacity(value) if value is not None else None
        taken = await seats_taken(ctx.s, meetup.id)
        if capacity is not None and capacity < taken:
            raise UserError.plural(
                "{taken} seats are taken, so {n} person would have to drop out first. Keep at "
                "least max {taken}.",
                "{taken} seats are taken, so {n} people would have to drop out first. Keep at "
                "least max {taken}.", taken - capacity, taken=taken, n=taken - capacity)
        meetup.capacity = capacity


async def _plan_reminders_again(ctx: Ctx, meetup: Meetup, chapter: Chapter) -> None:
    """A new time: the reminders of the old one go (those sent, too, so the same offsets
    come again before the new time); the chapter's and each yes-sayer's are planned anew.
    A reminder already handed to the outbox stays: it is on its way."""
    await ctx.s.execute(delete(Reminder).where(Reminder.meetup_id == meetup.id,
                                               Reminder.status != ReminderStatus.QUEUED))
    await schedule_group(ctx, meetup)
    going = await ctx.s.scalars(select(Person).join(Rsvp, Rsvp.person_id == Person.id).where(
        Rsvp.meetup_id == meetup.id, Rsvp.status == RsvpStatus.YES).order_by(Rsvp.id))
    for person in list(going):
        await schedule_person(ctx, meetup, person, chapter)


async def _tell(ctx: Ctx, chapter: Chapter, meetup: Meetup, change: Change,
                people: list[Person]) -> None:
    if not people:
        return
    targets = await dm_targets_of(ctx.s, [p.id for p in people])
    had_file = {row.person_id: row for row in await ctx.s.scalars(select(CalendarSent).where(
        CalendarSent.meetup_id == meetup.id,
        CalendarSent.person_id.in_([p.id for p in people])))}
    for person in people:
        language = person.language or chapter.language
        _ = translator(language)
        text = "\n".join([
            _("✏️ {title} ({chapter}) has changed.", title=meetup.title, chapter=chapter.name),
            f"{_label(change.field, language)}: {change.show(change.old, language)} → "
            f"{change.show(meetup, language)}",
        ])
        file = None
        sent = had_file.get(person.id)
        if sent is not None and change.sequence_up and meetup.starts_at is not None:
            file = meetup_calendar(meetup, chapter, ctx.now)
            sent.sequence, sent.sent_at = meetup.sequence, ctx.now
        await send_dm(ctx, person, chapter, meetup.id, text, file=file,
                      targets=targets[person.id])

