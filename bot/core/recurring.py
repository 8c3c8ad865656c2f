"""/recurring: a chapter's rule ("first thursday 19:30") that opens its next meetup by itself.

The rule is stored as an RFC 5545 RRULE in the chapter's wall-clock time (BYHOUR/BYMINUTE),
evaluated with python-dateutil from the local date it was set, and only turned into UTC per
occurrence: 19:30 stays 19:30 across a change to or from summer time.

The next occurrence opens (as a one-date /newmeetup would) whenever the chapter has no
upcoming meetup: when the rule is set, when a meetup's follow-up row fires (it has ended),
and after a /cancel. Dates of cancelled meetups are skipped, so a cancelled occurrence does
not come back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, get_day_names
from dateutil.rrule import MONTHLY, WEEKLY, rrule, rrulestr, weekday
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.announce import open_meetup
from bot.core.confirm import confirmed, split_yes
from bot.core.details import Details, check_title, is_capacity, venue_and_capacity
from bot.core.errors import UserError
from bot.core.i18n import format_when, translator
from bot.core.queries import next_meetup
from bot.core.syntax import split_args
from bot.core.time_of_day import missing_hour, read_time_of_day, split_day_parts, unreadable_time
from bot.core.work import Ctx, Work
from bot.db.models import Chapter, Meetup, MeetupStatus

SHOWN_DATES = 3
MAX_RULE_TEXT = 80
MAX_INTERVAL = 4  # every 4 weeks at most: beyond that a monthly rule says it better

_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

# Weekday names and their common abbreviations, English and Dutch (Monday = 0).
_WEEKDAYS: dict[str, int] = {}
for _index, _names in enumerate((
    "monday mon mo maandag ma maa",
    "tuesday tue tues tu dinsdag di din",
    "wednesday wed we woensdag wo woe",
    "thursday thu thur thurs th donderdag do don",
    "friday fri fr vrijdag vr vrij",
    "saturday sat sa zaterdag za zat",
    "sunday sun su zondag zo zon",
)):
    for _name in _names.split():
        _WEEKDAYS[_name] = _index

_ORDINALS = {
    "first": 1, "1st": 1, "eerste": 1, "1e": 1, "1ste": 1,
    "second": 2, "2nd": 2, "tweede": 2, "2e": 2, "2de": 2,
    "third": 3, "3rd": 3, "derde": 3, "3e": 3, "3de": 3,
    "fourth": 4, "4th": 4, "vierde": 4, "4e": 4, "4de": 4,
    "last": -1, "laatste": -1,
}
_EVERY = {"every", "each", "elke", "iedere", "ieder"}
_NUMBERS = {"1": 1, "2": 2, "3": 3, "4": 4, "two": 2, "three": 3, "four": 4, "twee": 2,
            "drie": 3, "vier": 4, "other": 2}
_WEEKS = {"week", "weeks", "weken"}
_ON = {"on", "op"}
_AT = {"at", "om", "@"}
_OF_THE_MONTH = ("of the month", "of every month", "of each month", "in the month",
                 "van de maand", "van elke maand", "van iedere maand")

_LOOKS_LIKE_TIME = re.compile(r"^\d", re.A)


@dataclass(frozen=True)
class Rule:
    """What a /recurring text says; `nth` set: monthly (1-4, -1 = last), else weekly."""

    weekday: int  # Monday = 0
    hour: int
    minute: int
    nth: int | None = None
    interval: int = 1

    def rrule_text(self) -> str:
        """The RFC 5545 RRULE, as python-dateutil writes it (without DTSTART)."""
        day = weekday(self.weekday, self.nth) if self.nth else weekday(self.weekday)
        built = rrule(MONTHLY if self.nth else WEEKLY, interval=self.interval,
                      byweekday=day, byhour=self.hour, byminute=self.minute, bysecond=0,
                      dtstart=datetime(2000, 1, 1))
        line = next(part for part in str(built).splitlines() if part.startswith("RRULE:"))
        return line.removeprefix("RRULE:")

    @classmethod
    def from_rrule(cls, text: str) -> Rule:
        """Back from a stored RRULE (only the shapes rrule_text writes)."""
        fields = dict(part.split("=", 1) for part in text.split(";"))
        day = re.fullmatch(r"([+-]?\d)?([A-Z]{2})", fields["BYDAY"])
        assert day is not None, text
        return cls(weekday=_CODES.index(day.group(2)), hour=int(fields["BYHOUR"]),
                   minute=int(fields["BYMINUTE"]),
                   nth=int(day.group(1)) if fields["FREQ"] == "MONTHLY" else None,
                   interval=int(fields.get("INTERVAL", "1")))


# --- reading the rule ------------------------------------------------------------------------

def _unreadable(text: str) -> UserError:
    return UserError("I can't read “{text}” as a rule. Write it like: /recurring first thursday "
                     "19:30, /recurring every friday 20:00 or /recurring every 2 weeks "
                     "thursday 19:30", text=text[:MAX_RULE_TEXT])


def parse_time(text: str) -> tuple[int, int]:
    """19:30, 19.30, 7:30pm, 7 pm, 19u30, 19u, 19 uur, 19h30, 8 uur 's avonds, evening 7:30
    -> (hour, minute), by the rule /newmeetup's dates follow too (bot/core/time_of_day.py)."""
    reading = read_time_of_day(text)
    if reading.time is None or reading.rest:
        raise unreadable_time(text)
    return reading.time.hour, reading.time.minute


def parse_rule(text: str) -> Rule:
    """`first thursday 19:30`, `laatste vr 20u`, `every friday 7:30pm`, `elke 2 weken do 19.30`,
    `every other thursday at 19:30`, `elke eerste donderdag van de maand om 19:30`."""
    raw = " ".join(text.split())
    if len(raw) > MAX_RULE_TEXT:
        raise _unreadable(raw[:MAX_RULE_TEXT] + "…")
    words = split_day_parts(raw.lower().replace(",", " "))
    for filler in _OF_THE_MONTH:
        words = words.replace(filler, " ")
    tokens = [w.rstrip(".") if not _LOOKS_LIKE_TIME.match(w) else w for w in words.split()]
    at = 0

    def peek() -> str:
        return tokens[at] if at < len(tokens) else ""

    nth: int | None = None
    interval = 1
    mode = ""
    if peek() in _EVERY:
        mode, at = "every", at + 1
    elif tokens[at:at + 2] == ["om", "de"]:  # om de week (every other week), om de 3 weken
        mode, at, interval = "om de", at + 2, 2
    if mode != "om de" and peek() in _ORDINALS:
        nth, at = _ORDINALS[peek()], at + 1
    elif not mode:
        raise _unreadable(raw)
    elif peek() in _NUMBERS:
        word = peek()
        interval, at = _NUMBERS[word], at + 1
        if peek() in _WEEKS:
            at += 1
        elif word != "other":
            raise _unreadable(raw)
    elif peek() in _WEEKS:
        at += 1
    elif mode == "om de":
        raise _unreadable(raw)
    if not 1 <= interval <= MAX_INTERVAL:
        raise _unreadable(raw)
    if peek() in _ON:
        at += 1
    name = peek()
    day = _WEEKDAYS.get(name, _WEEKDAYS.get(name[:-1]) if name.endswith("s") else None)
    if day is None:
        raise _unreadable(raw)
    at += 1
    if peek() in _AT:
        at += 1
    rest = " ".join(tokens[at:])
    if not rest:
        raise UserError("“{text}” has no time of day. Add one, like: /recurring {text} 19:30",
                        text=raw[:MAX_RULE_TEXT])
    said = read_time_of_day(rest)
    if said.time is None and said.part is not None and not said.rest:
        raise missing_hour(raw, said.part)
    hour, minute = parse_time(rest)
    return Rule(weekday=day, hour=hour, minute=minute, nth=nth, interval=interval)


def describe_rule(rule: Rule, language: str) -> str:
    """E.g. 'the first Thursday of the month at 19:30' / 'de eerste donderdag van de maand
    om 19:30', in `language`."""
    _ = translator(language)
    day = str(get_day_names("wide", locale=language)[rule.weekday])
    clock = f"{rule.hour:02d}:{rule.minute:02d}"
    if rule.nth == 1:
        return _("the first {weekday} of the month at {time}", weekday=day, time=clock)
    if rule.nth == 2:
        return _("the second {weekday} of the month at {time}", weekday=day, time=clock)
    if rule.nth == 3:
        return _("the third {weekday} of the month at {time}", weekday=day, time=clock)
    if rule.nth == 4:
        return _("the fourth {weekday} of the month at {time}", weekday=day, time=clock)
    if rule.nth == -1:
        return _("the last {weekday} of the month at {time}", weekday=day, time=clock)
    if rule.interval > 1:
        return _.n("every {n} week on {weekday} at {time}",
                   "every {n} weeks on {weekday} at {time}", rule.interval, weekday=day,
                 time=clock)
    return _("every {weekday} at {time}", weekday=day, time=clock)


# --- evaluating it ---------------------------------------------------------------------------

def occurrences(rule_text: str, since: date, timezone: str, after: datetime, count: int,
                skip: frozenset[datetime] = frozenset(), inclusive: bool = False
                ) -> list[datetime]:
    """The next `count` occurrences (UTC) after `after`, leaving out those in `skip`. The rule
    runs on wall-clock time in `timezone`; each occurrence is placed in it on its own day."""
    tz = ZoneInfo(timezone)
    rule = rrulestr(rule_text, dtstart=datetime.combine(since, time()))
    # A day's margin: the local reading of `after` may differ from an occurrence's offset.
    cursor = (after.astimezone(tz) - timedelta(days=1)).replace(tzinfo=None)
    found: list[datetime] = []
    for _step in range(count + len(skip) + 10):
        local = rule.after(cursor)
        if local is None:
            break
        cursor = local
        at = local.replace(tzinfo=tz).astimezone(UTC)
        if at < after or (at == after and not inclusive) or at in skip:
            continue
        found.append(at)
        if len(found) == count:
            break
    return found


GAP_HORIZON = timedelta(days=3 * 365)  # as far ahead as a one-off date may be


def first_in_gap(rule_text: str, since: date, timezone: str,
                 horizon: timedelta = GAP_HORIZON) -> date | None:
    """The first day within `horizon` on which the rule's wall-clock time doesn't exist (the
    clocks jump over it when summer time starts); None when there is none. Such a rule is
    refused, as a one-off date in the gap is: it would be moved an hour without a word."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(since, time())
    rule = rrulestr(rule_text, dtstart=start)
    for local in rule.between(start, start + horizon, inc=True):
        if local.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local:
            return local.date()
    return None


async def _cancelled_dates(s: AsyncSession, chapter: Chapter, after: datetime
                           ) -> frozenset[datetime]:
    return frozenset(await s.scalars(select(Meetup.starts_at).where(
        Meetup.chapter_id == chapter.id, Meetup.status == MeetupStatus.CANCELLED,
        Meetup.starts_at > after - timedelta(days=1))))


async def next_dates(s: AsyncSession, chapter: Chapter, after: datetime, count: int,
                     inclusive: bool = False) -> list[datetime]:
    assert chapter.recurring_rule is not None and chapter.recurring_since is not None
    return occurrences(chapter.recurring_rule, chapter.recurring_since, chapter.timezone,
                       after, count, await _cancelled_dates(s, chapter, after), inclusive)


async def open_next(w: Work, chapter: Chapter, created_by: int | None = None) -> Meetup | None:
    """Open the rule's next occurrence, unless the chapter already has an upcoming meetup
    (scheduled or polling) or no rule."""
    # One decision per chapter at a time (PostgreSQL runs units of work side by side): with
    # the row lock, a follow-up and a /cancel can't both open a meetup.
    locked = await w.s.scalar(select(Chapter).where(Chapter.id == chapter.id).with_for_update()
                              .execution_options(populate_existing=True))
    if locked is None or locked.recurring_rule is None:
        return None
    if await next_meetup(w.s, locked.id, w.now, include_polling=True) is not None:
        return None
    dates = await next_dates(w.s, locked, w.now, 1)
    if not dates:
        return None
    return await open_meetup(w, locked, locked.recurring_title or locked.name, dates[0],
                             Details(venue=locked.recurring_venue,
                                     capacity=locked.recurring_capacity), created_by)


async def after_meetup(w: Work, meetup_id: int) -> None:
    """A meetup's follow-up row has fired: it is over, so a recurring chapter opens its next."""
    meetup = await w.s.get(Meetup, meetup_id)
    if meetup is None:
        return
    chapter = await w.s.get_one(Chapter, meetup.chapter_id)
    if chapter.recurring_rule is not None:
        await open_next(w, chapter)


# --- /recurring ------------------------------------------------------------------------------

_OFF = {"off", "uit", "stop"}


async def recurring(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_organiser()
    _ = ctx._
    text = args.strip()
    if not text:
        if chapter.recurring_rule is None:
            ctx.reply(_("This chapter has no recurring meetup. Set one like: /recurring first "
                        "thursday 19:30; Tweetup; Verkadefabriek; max 40"))
            return
        upcoming = await next_meetup(ctx.s, chapter.id, ctx.now, include_polling=True)
        ctx.reply(await _summary(ctx, chapter, upcoming, opened=False, changed=False))
        return
    rest, yes = split_yes(text)
    if rest.lower() in _OFF:
        if chapter.recurring_rule is None:
            ctx.reply(_("There is no recurring meetup to stop."))
            return
        if not await confirmed(ctx, "recurring", "off", yes, _(
                "Stop the recurring meetups of {name}? No next meetup opens by itself.",
                name=chapter.name)):
            return
        chapter.recurring_rule = chapter.recurring_since = None
        chapter.recurring_title = chapter.recurring_venue = chapter.recurring_capacity = None
        ctx.reply(_("Recurring meetups are off. Meetups already planned stay; /cancel cancels "
                    "the next one."))
        return

    parts = split_args(text)
    rule = parse_rule(parts[0])
    title: str | None = None
    extras = parts[1:]
    if extras and extras[0] and not is_capacity(extras[0]):
        title = check_title(extras[0])
        extras = extras[1:]
    venue, capacity, unknown = venue_and_capacity(extras)
    if unknown is not None:
        raise UserError("I don't know what “{text}” means here. Write it like: /recurring first "
                        "thursday 19:30; Tweetup; Verkadefabriek; max 40", text=unknown[:40])

    rrule_text = rule.rrule_text()
    # Counted from the day of the first occurrence: "every 2 weeks" then starts with the
    # first matching day, not a week later.
    first = occurrences(Rule(rule.weekday, rule.hour, rule.minute, rule.nth).rrule_text(),
                        ctx.now.astimezone(ZoneInfo(chapter.timezone)).date(),
                        chapter.timezone, ctx.now, 1)
    since = first[0].astimezone(ZoneInfo(chapter.timezone)).date()
    missing = first_in_gap(rrule_text, since, chapter.timezone)
    if missing is not None:
        raise UserError("{time} doesn't exist on {date} in {tz}: the clocks go forward that "
                        "night. Pick a time outside the change, like 20:00.",
                        time=f"{rule.hour:02d}:{rule.minute:02d}", tz=chapter.timezone,
                        date=format_date(missing, format="medium", locale=ctx.lang))
    chapter.recurring_rule = rrule_text
    chapter.recurring_since = since
    chapter.recurring_title, chapter.recurring_venue = title, venue
    chapter.recurring_capacity = capacity
    await ctx.s.flush()
    opened = await open_next(ctx, chapter, ctx.person.id)
    upcoming = opened or await next_meetup(ctx.s, chapter.id, ctx.now, include_polling=True)
    # A reply: it goes out before the announcement of the meetup it opened.
    ctx.reply(await _summary(ctx, chapter, upcoming, opened=opened is not None, changed=True))


async def _summary(ctx: Ctx, chapter: Chapter, upcoming: Meetup | None, *, opened: bool,
                   changed: bool) -> str:
    """How the rule reads, its template, the next dates and what happens next."""
    _ = ctx._
    assert chapter.recurring_rule is not None
    rule = describe_rule(Rule.from_rrule(chapter.recurring_rule), ctx.lang)
    title = chapter.recurring_title or chapter.name
    lines = [_("Recurring meetup set: {title}, {rule}.", title=title, rule=rule) if changed
             else _("Recurring meetup: {title}, {rule}.", title=title, rule=rule)]
    if chapter.recurring_venue:
        lines.append(_("Where: {venue}", venue=chapter.recurring_venue))
    if chapter.recurring_capacity:
        lines.append(_.n("Seat: {n}", "Seats: {n}", chapter.recurring_capacity))
    # What will really happen: the upcoming meetup holds its place; the rule goes on after it.
    if upcoming is not None and upcoming.starts_at is not None:
        dates = await next_dates(ctx.s, chapter, upcoming.starts_at, SHOWN_DATES, inclusive=True)
    else:
        dates = await next_dates(ctx.s, chapter, ctx.now, SHOWN_DATES)
    lines.append(_("Next dates:"))
    lines += [f"• {format_when(d, chapter.timezone, ctx.lang)}" for d in dates]
    if opened:
        lines.append(_("The first one is open now; stop the rule with /recurring off."))
    elif upcoming is not None and upcoming.starts_at is not None:
        lines.append(_("The next one opens when {title} ({when}) is over.", title=upcoming.title,
                       when=format_when(upcoming.starts_at, chapter.timezone, ctx.lang)))
    elif upcoming is not None:
        lines.append(_("The next one opens when {title} is over.", title=upcoming.title))
    return "\n".join(lines)
