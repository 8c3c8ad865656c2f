"""Polls: date polls that set a meetup, plain polls, votes from every platform, closing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.core.announce import announce, notify_followers
from bot.core.dates import When
from bot.core.details import end_after
from bot.core.errors import UserError
from bot.core.i18n import format_when, translator
from bot.core.messages import ChatRef, PollAnswer, SentPoll
from bot.core.notify import post_to_chapter
from bot.core.outbox import Posted
from bot.core.people import ensure_memberships, people_for
from bot.core.queries import chapter_chats, open_poll_of
from bot.core.reminders import clear_poll_nudge, schedule_group, schedule_poll_nudge
from bot.core.rules import Tally, latest_choices, pick_winner, poll_closes_at, valid_choice
from bot.core.syntax import split_args
from bot.core.text import defuse, number, one_line, visible
from bot.core.work import Ctx, Work
from bot.db.bulk import chunks, insert_skipping
from bot.db.models import (
    Chapter,
    Meetup,
    MeetupStatus,
    Poll,
    PollKind,
    PollOption,
    PostedMessage,
    PostKind,
    Rsvp,
    RsvpStatus,
    Vote,
)
from bot.db.session import changed_one_row

log = logging.getLogger(__name__)

MAX_QUESTION = 300
MAX_OPTION = 100
MAX_OPTIONS = 10


async def _post_poll(w: Work, chapter: Chapter, poll: Poll, options: list[str],
                     intro: str) -> None:
    for chat in await chapter_chats(w.s, chapter.id):
        w.out.text(chat, intro)
        w.out.poll(chat, poll.question, options, poll.multiple,
                   Posted(chapter.id, PostKind.POLL, meetup_id=poll.meetup_id, poll_id=poll.id))
    w.svc.due_changed(poll.closes_at)


async def add_open_poll(w: Work, poll: Poll) -> None:
    """One open poll per chapter is a rule of the database (a unique index on the open ones):
    of two polls opened at once, the second is refused here."""
    try:
        async with w.s.begin_nested():
            w.s.add(poll)
            await w.s.flush()
    except IntegrityError:
        raise UserError("A poll is still open. Close it first with /closepoll.") from None


async def open_date_poll(w: Work, chapter: Chapter, meetup: Meetup, moments: list[When]) -> None:
    _ = translator(chapter.language)
    poll = Poll(chapter_id=chapter.id, meetup_id=meetup.id, kind=PollKind.DATE, multiple=True,
                question=_("{title}: which dates can you make?", title=meetup.title)[:MAX_QUESTION],
                closes_at=poll_closes_at(w.now, moments[0].at), created_at=w.now)
    await add_open_poll(w, poll)
    await schedule_poll_nudge(w, meetup, poll)
    labels = [format_when(m.at, chapter.timezone, chapter.language) for m in moments]
    for position, (moment, label) in enumerate(zip(moments, labels, strict=True)):
        w.s.add(PollOption(poll_id=poll.id, position=position, label=label, starts_at=moment.at))
    await w.s.flush()
    intro = _("New meetup: {title}. Vote for every date you can make; the poll closes {closes}.",
              title=meetup.title,
              closes=format_when(poll.closes_at, chapter.timezone, chapter.language))
    await _post_poll(w, chapter, poll, labels, intro)


async def new_poll(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_organiser()
    _ = ctx._
    parts = split_args(args)
    if len(parts) != 2 or not parts[0]:
        raise UserError("Write it like: /poll Which venue?; Verkadefabriek | Café de Unie")
    question = one_line(parts[0])
    if len(question) > MAX_QUESTION:
        raise UserError("The question is {n} characters long; keep it under {max}.",
                        n=len(question), max=MAX_QUESTION)
    options = [one_line(o) for o in parts[1].split("|")]
    if not visible(question):
        raise UserError("Write it like: /poll Which venue?; Verkadefabriek | Café de Unie")
    if len(options) < 2 or any(not visible(o) for o in options):
        raise UserError("A poll needs at least two options, separated by |.")
    if len(options) > MAX_OPTIONS:
        raise UserError("At most {max} options in one poll.", max=MAX_OPTIONS)
    if any(len(o) > MAX_OPTION for o in options):
        raise UserError("Keep each option under {max} characters.", max=MAX_OPTION)
    if len(set(options)) != len(options):
        raise UserError("The same option is in the list twice.")
    if await open_poll_of(ctx.s, chapter.id) is not None:
        raise UserError("A poll is still open. Close it first with /closepoll.")
    poll = Poll(chapter_id=chapter.id, kind=PollKind.PLAIN, multiple=False, question=question,
                closes_at=poll_closes_at(ctx.now, None), created_at=ctx.now)
    await add_open_poll(ctx, poll)
    for position, label in enumerate(options):
        ctx.s.add(PollOption(poll_id=poll.id, position=position, label=label))
    await ctx.s.flush()
    intro = _("New poll; it closes {closes}.",
              closes=format_when(poll.closes_at, chapter.timezone, chapter.language))
    await _post_poll(ctx, chapter, poll, options, intro)


# Built once: every vote runs them.
_OPTIONS = (select(PollOption).where(PollOption.poll_id == bindparam("poll"))
            .order_by(PollOption.position))
# synchronize_session=False: SQLAlchemy's in-Python evaluation of the criteria does not
# read bound parameters; the unit has loaded none of these rows as objects.
_DROP_VOTES = (delete(Vote).where(Vote.poll_id == bindparam("poll"),
                                  Vote.person_id == bindparam("person"))
               .execution_options(synchronize_session=False))
_OPEN_POLLS_POSTED_AS = (
    select(PostedMessage.platform_poll_id, Poll.id, Poll.chapter_id, Poll.multiple)
    .join(Poll, Poll.id == PostedMessage.poll_id)
    .where(PostedMessage.platform == bindparam("platform"),
           PostedMessage.platform_poll_id.in_(bindparam("posted_as", expanding=True)),
           PostedMessage.kind == PostKind.POLL, Poll.closed_at.is_(None)))
_OPTION_IDS = (select(PollOption.poll_id, PollOption.id)
               .where(PollOption.poll_id.in_(bindparam("polls", expanding=True)))
               .order_by(PollOption.poll_id, PollOption.position))


async def record_votes(w: Work, poll: Poll, person_id: int,
                       positions: list[int]) -> list[PollOption]:
    """Replace a person's votes in a poll (the latest answer counts; none takes it back)."""
    options = list(await w.s.scalars(_OPTIONS, {"poll": poll.id}))
    positions = sorted(set(positions))  # "/vote 2 2" names one option
    if any(p < 0 or p >= len(options) for p in positions):
        raise UserError.plural("This poll has option 1 to {n}.", "This poll has options 1 to {n}.",
                               len(options))
    if not poll.multiple and len(positions) > 1:
        raise UserError("Pick one option in this poll.")
    await w.s.execute(_DROP_VOTES, {"poll": poll.id, "person": person_id})
    chosen = [options[p] for p in positions]
    for option in chosen:
        w.s.add(Vote(poll_id=poll.id, option_id=option.id, person_id=person_id, voted_at=w.now))
    await w.s.flush()
    return chosen


async def vote_command(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_chapter()
    _ = ctx._
    poll = await open_poll_of(ctx.s, chapter.id)
    if poll is None:
        raise UserError("There is no open poll right now.")
    words = args.replace(",", " ").split()
    numbers = [number(w, 0, 999) for w in words]
    if not words or len(words) > MAX_OPTIONS or None in numbers:
        raise UserError("Write the numbers of the options, e.g. /vote 1 3")
    chosen = await record_votes(ctx, poll, ctx.person.id, [n - 1 for n in numbers if n is not None])
    ctx.reply(_("{name} voted for {options}.", name=ctx.person.display_name,
                options=", ".join(str(o.position + 1) for o in chosen)))


async def open_poll_posted_in(s: AsyncSession, chat: ChatRef, platform_poll_id: str) -> Poll | None:
    post = await s.scalar(select(PostedMessage).where(
        PostedMessage.platform == chat.platform, PostedMessage.chat_id == chat.id,
        PostedMessage.platform_poll_id == platform_poll_id, PostedMessage.kind == PostKind.POLL))
    if post is None or post.poll_id is None:
        return None
    poll = await s.get_one(Poll, post.poll_id)
    return poll if poll.closed_at is None else None


async def record_answers(w: Work, answers: Sequence[PollAnswer]) -> int:
    """Native poll answers, in the order they were cast, recorded with a few statements for
    the whole batch: the latest valid answer of a voter to a poll counts (an empty one takes
    the vote back); answers to an unknown or closed poll, or naming an option the poll lacks,
    change nothing. A voter seen for the first time becomes a person and a member of the
    poll's chapter. Returns how many (poll, voter) votes were written."""
    polls = await _open_polls_posted_as(w.s, {(a.platform, a.platform_poll_id) for a in answers})
    counted = [(a, polls[(a.platform, a.platform_poll_id)]) for a in answers
               if (a.platform, a.platform_poll_id) in polls]
    latest = latest_choices(
        ((poll.poll_id, (a.voter.platform, a.voter.id)),
         valid_choice(a.option_indexes, len(poll.option_ids), poll.multiple))
        for a, poll in counted)
    if len(latest) < len({(p.poll_id, a.voter.platform, a.voter.id) for a, p in counted}):
        log.info("native poll answers naming no such option were ignored")
    if not latest:
        return 0
    voters = {(a.voter.platform, a.voter.id): a.voter for a, _p in counted}
    person_of = await people_for(w.s, [voters[acc] for _poll_id, acc in latest], w.now)
    by_id = {p.poll_id: p for p in polls.values()}
    chapters: dict[int, set[int]] = {}
    choices: dict[int, dict[int, tuple[int, ...]]] = {}
    for (poll_id, acc), chosen in latest.items():
        person_id = person_of[acc]
        choices.setdefault(poll_id, {})[person_id] = chosen
        chapters.setdefault(by_id[poll_id].chapter_id, set()).add(person_id)
    # A voter who never typed in the group is a member too (their "maybe", /meetups in a DM).
    for chapter_id, person_ids in chapters.items():
        await ensure_memberships(w.s, chapter_id, person_ids, w.now)
    rows = []
    for poll_id, by_person in choices.items():
        option_ids = by_id[poll_id].option_ids
        for part in chunks(list(by_person), 1000):
            await w.s.execute(delete(Vote).where(Vote.poll_id == poll_id,
                                                 Vote.person_id.in_(part))
                              .execution_options(synchronize_session=False))
        rows += [{"poll_id": poll_id, "option_id": option_ids[p], "person_id": person_id,
                  "voted_at": w.now}
                 for person_id, chosen in by_person.items() for p in chosen]
    # Skipping a vote already there: one cast the same moment by the same person (/vote).
    await insert_skipping(w.s, Vote, ["option_id", "person_id"], rows)
    return len(latest)


@dataclass(frozen=True)
class _OpenPoll:
    poll_id: int
    chapter_id: int
    multiple: bool
    option_ids: list[int]  # by position


async def _open_polls_posted_as(s: AsyncSession,
                                posted: set[tuple[str, str]]) -> dict[tuple[str, str], _OpenPoll]:
    """The open polls behind (platform, platform poll id) pairs; unknown or closed ones are
    left out."""
    found: dict[tuple[str, str], _OpenPoll] = {}
    by_platform: dict[str, list[str]] = {}
    for platform, platform_poll_id in posted:
        by_platform.setdefault(platform, []).append(platform_poll_id)
    for platform, platform_poll_ids in by_platform.items():
        rows = await s.execute(_OPEN_POLLS_POSTED_AS,
                               {"platform": platform, "posted_as": platform_poll_ids})
        for posted_as, poll_id, chapter_id, multiple in rows.all():
            assert posted_as is not None
            found[(platform, posted_as)] = _OpenPoll(poll_id, chapter_id, multiple, [])
    if found:
        by_id = {p.poll_id: p for p in found.values()}
        options = await s.execute(_OPTION_IDS, {"polls": list(by_id)})
        for of_poll, option_id in options.all():
            by_id[of_poll].option_ids.append(option_id)
    return found


async def close_poll_command(ctx: Ctx, args: str) -> None:
    chapter = ctx.require_organiser()
    poll = await open_poll_of(ctx.s, chapter.id)
    if poll is None:
        raise UserError("There is no open poll right now.")
    await close_poll(ctx, poll)


async def close_platform_polls(w: Work, poll: Poll) -> None:
    posts = await w.s.scalars(select(PostedMessage).where(PostedMessage.poll_id == poll.id,
                                                          PostedMessage.kind == PostKind.POLL))
    for post in posts:
        w.out.close_poll(SentPoll(ChatRef(post.platform, post.chat_id), post.message_id,
                                  post.platform_poll_id or ""))


async def tallies(s: AsyncSession, poll_id: int) -> list[tuple[PollOption, int]]:
    counts: dict[int, int] = dict((await s.execute(
        select(Vote.option_id, func.count()).where(Vote.poll_id == poll_id)
        .group_by(Vote.option_id))).all())
    options = await s.scalars(select(PollOption).where(PollOption.poll_id == poll_id)
                              .order_by(PollOption.position))
    return [(o, int(counts.get(o.id, 0))) for o in options]


async def mark_closed(w: Work, poll: Poll) -> bool:
    """Close the poll in the database, unless someone closed it first (the scheduler, an
    organiser's /closepoll, a poll end from Element, another copy of the bot): one UPDATE that
    only one of them can win, so a result is announced once."""
    result = await w.s.execute(update(Poll).where(Poll.id == poll.id, Poll.closed_at.is_(None))
                               .values(closed_at=w.now)
                               .execution_options(synchronize_session=False))
    won = changed_one_row(result)
    if won:
        set_committed_value(poll, "closed_at", w.now)
    return won


async def close_poll(w: Work, poll: Poll) -> None:
    """Close a poll, announce the result; a date poll sets its meetup's date and opens RSVP."""
    if not await mark_closed(w, poll):
        return
    if poll.meetup_id is not None:
        await clear_poll_nudge(w, poll.meetup_id)
    chapter = await w.s.get_one(Chapter, poll.chapter_id)
    _ = translator(chapter.language)
    await close_platform_polls(w, poll)
    results = await tallies(w.s, poll.id)
    summary = "\n".join(f"{o.position + 1}. {defuse(o.label)}: {n}" for o, n in results)
    winner_tally = pick_winner([Tally(o.id, o.position, o.starts_at, n) for o, n in results])
    winner = next(o for o, _n in results if o.id == winner_tally.option_id)
    if poll.kind != PollKind.DATE or poll.meetup_id is None:
        top = [o.label for o, n in results if n == winner_tally.votes]
        if winner_tally.votes == 0:
            outcome = _("No votes.")
        elif len(top) > 1:
            outcome = _("Tie: {options}", options=", ".join(top))
        else:
            outcome = _("Most votes: {winner}", winner=winner.label)
        await post_to_chapter(w, chapter.id, _("Poll closed: {question}\n{summary}",
                                               question=poll.question, summary=summary)
                              + "\n" + outcome)
        return
    meetup = await w.s.get_one(Meetup, poll.meetup_id)
    if meetup.status != MeetupStatus.POLLING:
        return
    assert winner.starts_at is not None
    if meetup.ends_at is not None:  # kept against the first option until now
        meetup.ends_at = end_after(winner.starts_at,
                                   meetup.ends_at.astimezone(ZoneInfo(chapter.timezone)).time(),
                                   chapter.timezone)
    meetup.starts_at = winner.starts_at
    meetup.status = MeetupStatus.SCHEDULED
    voters = await w.s.scalars(select(Vote.person_id).where(Vote.option_id == winner.id))
    for person_id in voters:
        w.s.add(Rsvp(meetup_id=meetup.id, person_id=person_id, status=RsvpStatus.MAYBE,
                     guests=0, updated_at=w.now))
    await w.s.flush()
    await schedule_group(w, meetup)
    headline = _("The poll is closed: {title} is on {when}.\n{summary}",
                 title=meetup.title, summary=summary,
                 when=format_when(winner.starts_at, chapter.timezone, chapter.language))
    if winner_tally.votes:
        headline += "\n" + _("Everyone who voted for this date counts as maybe until they answer.")
    await announce(w, meetup, chapter, headline)
    await notify_followers(w, meetup, chapter)
