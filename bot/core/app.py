"""The command core's front door: the one object every adapter calls.

Each inbound event is one unit of work (bot/core/unit.py) run through one wrapper, `_handle`:
a `UserError` rolls everything back and becomes a short reply (or, for a button, a toast) in
the chat's language; anything else is logged with the chat and the person, and the person
hears that nothing was changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import bindparam, select, update

from bot.core import confirm, delivery, housekeeping, polls, rsvp, voters
from bot.core import wall as wall_posts
from bot.core.commands import COMMANDS, command_named
from bot.core.errors import UserError
from bot.core.i18n import N_, format_when, gettext, translator
from bot.core.messages import (
    Button,
    ChatPost,
    ChatRef,
    Inbound,
    PollAnswer,
    PollEnd,
    ReactionRsvp,
    Reply,
    RsvpAction,
    UserRef,
)
from bot.core.outbox import chat_key
from bot.core.people import (
    ensure_membership,
    home_language,
    note_admin,
    person_for,
    sender_in,
)
from bot.core.ports import Clock, MemberCheck, Messenger, Metrics, WallBus
from bot.core.queries import chapter_for_chat
from bot.core.settings import CoreSettings
from bot.core.syntax import MAX_COMMAND_TEXT, parse_command
from bot.core.text import scrub
from bot.core.throttle import CommandLimit, Verdict
from bot.core.unit import Units
from bot.core.work import Ctx, Services, Work
from bot.db.bulk import chunks, insert_skipping
from bot.db.models import (
    Chapter,
    ChatBinding,
    HandledMessage,
    InboxUpdate,
    Meetup,
    OutboxKind,
    OutboxMessage,
    PostedMessage,
    PostKind,
)
from bot.db.session import Database, database_unreachable

log = logging.getLogger(__name__)

R = TypeVar("R")

# After the shutdown deadline: how long a send in hand may take to finish and be recorded.
DRAIN_GRACE = timedelta(seconds=2)

# A press's toast kept with its record (every press runs it: built once).
_KEEP_ANSWER = (update(HandledMessage)
                .where(HandledMessage.platform == bindparam("h_platform"),
                       HandledMessage.chat_id == bindparam("h_chat"),
                       HandledMessage.message_id == bindparam("h_event"))
                .values(answer=bindparam("h_answer"))
                .execution_options(synchronize_session=False))

# The database away: the first pause before a unit of work is tried again (then doubling to 2 s).
FIRST_PAUSE = 0.2

# Where someone last spoke (their DMs go there by default, `queries.dm_targets_of`) is written
# at most this often per account, and only for a person with accounts on two platforms: with
# one there is nothing to choose, so most members' commands write nothing for it (it was an
# UPDATE in most commands of a big network). A chatty member costs no write per command either,
# and a minute's doubt does no harm.
SPOKE_EVERY = timedelta(minutes=1)

# At start: how far back an edit may have been marked sent without reaching its platform.
RESUME_EDITS_WITHIN = timedelta(minutes=1)

DATABASE_DOWN = N_("I can't reach my database right now. Try again in a few minutes.")
SOMETHING_WENT_WRONG = N_("Something went wrong on my side; nothing was changed. Try again later.")


@dataclass
class Event:
    """What the front door knows of an inbound event: where to answer, whom to name in the
    log, and the language to answer in (set by the handler as soon as it knows)."""

    kind: str
    chat: ChatRef | None
    sender: UserRef | None
    language: str
    # Tried again after losing the database: an earlier try's commit may have gone through
    # with its answer lost on the way back.
    retried: bool = False


class Core:
    def __init__(
        self,
        db: Database,
        messengers: Mapping[str, Messenger],
        clock: Clock,
        settings: CoreSettings | None = None,
        due_changed: Callable[[datetime], None] | None = None,
        metrics: Metrics | None = None,
        wall: WallBus | None = None,
    ) -> None:
        self.db = db
        self.svc = Services(messengers=messengers, clock=clock,
                            settings=settings or CoreSettings())
        if due_changed is not None:
            self.svc.due_changed = due_changed
        if metrics is not None:
            self.svc.metrics = metrics
        if wall is not None:
            self.svc.wall = wall
        self.walls = wall_posts.OpenHashtags(db)
        self.svc.wall_tags_changed = self.walls.forget
        self.units = Units(db, self.svc)
        self.command_limit = CommandLimit(self.svc.settings.commands_per_minute)

    @property
    def settings(self) -> CoreSettings:
        return self.svc.settings

    @property
    def metrics(self) -> Metrics:
        """What the operator counts; adapters report their platform's retries to it."""
        return self.svc.metrics

    # --- the one wrapper -----------------------------------------------------------------------

    async def _handle(self, event: Event, body: Callable[[Work, Event], Awaitable[R]],
                      refused: Callable[[str], Awaitable[R]],
                      failed: Callable[[str], Awaitable[R]] | None,
                      received: float | None = None) -> R:
        """Run `body` in one unit of work. `refused` gets a UserError's text. While the
        database can't be reached the unit is tried again, for `db_retry`; the event's id,
        recorded with its effect, keeps a retry from doing anything twice. After that, or
        after any other error, `failed` gets the text to tell the person; without `failed`
        the error is logged and raised again, for the adapter to deliver the event once more
        (a vote or a reaction has no one to tell). `received` (time.monotonic()) is when a
        command reached the core: its first message sent is timed from then (the reply
        latency the operator sees)."""
        give_up = time.monotonic() + self.settings.db_retry.total_seconds()
        pause = FIRST_PAUSE
        while True:
            try:
                async with self.units(received=received) as w:
                    return await body(w, event)
            except UserError as err:
                return await refused(gettext(event.language, err.message, **err.values))
            except Exception as exc:
                unreachable = database_unreachable(exc)
                if unreachable and time.monotonic() < give_up:
                    # Said once per event, not at every try.
                    log.log(logging.WARNING if pause == FIRST_PAUSE else logging.DEBUG,
                            "%s from %s in %s: the database can't be reached (%s); trying "
                            "again for up to %.0f s", event.kind, event.sender, event.chat,
                            exc.__class__.__name__, self.settings.db_retry.total_seconds())
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 2.0)
                    event.retried = True
                    continue
                log.exception("%s from %s in %s failed", event.kind, event.sender, event.chat)
                if failed is None:
                    raise
                # Unreachable, a commit may have gone through: don't say nothing changed.
                text = DATABASE_DOWN if unreachable else SOMETHING_WENT_WRONG
                return await failed(gettext(event.language, text))

    def _event(self, kind: str, chat: ChatRef | None, sender: UserRef | None) -> Event:
        return Event(kind, chat, sender, self.settings.default_language)

    async def _say(self, chat: ChatRef, text: str, received: float | None = None,
                   once: str | None = None) -> None:
        """A refusal, after the rollback: through the outbox like every answer, or straight to
        the platform when the database can't take it. `once`: the message refused, recorded
        as handled with the refusal, so a platform delivering it again (a sync read again
        after a crash) doesn't get it refused twice."""
        try:
            async with self.units(received=received) as w:
                if not await self._first_delivery(w, chat.platform, chat.id, once):
                    return
                w.out.reply(chat, text)
            return
        except Exception:
            log.exception("could not queue a reply in %s; sending it directly", chat)
        try:
            await self.svc.messenger(chat.platform).send_text(chat, text)
        except Exception:
            log.exception("could not reply in %s", chat)
            return
        if received is not None:
            self.svc.metrics.replied(chat.platform, time.monotonic() - received)

    async def _log_refusal(self, text: str) -> None:
        log.info("refused: %s", text)

    # --- inbound -------------------------------------------------------------------------------

    async def handle_message(self, msg: Inbound) -> None:
        """A text message in a group or DM: commands are answered through the messengers."""
        received = time.monotonic()
        command = parse_command(scrub(msg.text))
        if command is None:
            if "#" in msg.text:  # the console hands over every line: maybe a wall post
                await self.handle_post(ChatPost(msg.chat, msg.sender, msg.text, msg.is_private,
                                                msg.message_id))
            return
        verdict = self.command_limit.check(msg.chat.platform, msg.chat.id, msg.sender.id,
                                           self.svc.clock.now())
        if verdict is not Verdict.ANSWER:
            log.info("/%s from %s in %s ignored: over %d commands a minute", command.name,
                     msg.sender, msg.chat, self.command_limit.per_minute)
            if verdict is Verdict.SAY_SO:
                await self._too_many(msg)
            return
        spec = command_named(command.name)
        self.svc.metrics.command(spec.name if spec is not None else "unknown", msg.chat.platform)

        async def body(w: Work, event: Event) -> None:
            if (spec is None and not msg.is_private
                    and await chapter_for_chat(w.s, msg.chat) is None):
                return  # another bot's command in a chat that is no chapter: nothing to write
            if not await self._first_delivery(w, msg.chat.platform, msg.chat.id, msg.message_id):
                return
            sender = await sender_in(w.s, msg.sender, None if msg.is_private else msg.chat,
                                     w.now)
            person, identity = sender.person, sender.identity
            chapter, membership = sender.chapter, sender.membership
            if sender.linked and (identity.last_spoke_at is None
                                  or w.now - identity.last_spoke_at >= SPOKE_EVERY):
                identity.last_spoke_at = w.now
            if msg.is_private:
                identity.dm_started = True
                event.language = await home_language(w.s, person, self.settings)
            elif chapter is not None:
                event.language = chapter.language
                if spec is not None:
                    await note_admin(w.s, msg.chat, person, msg.sender_is_admin, w.now,
                                     sender)
            if spec is None:
                if msg.is_private or chapter is not None:
                    raise UserError("I don't know /{name}. /help lists what I can do.",
                                    name=command.name[:30])
                return
            if len(msg.text) > MAX_COMMAND_TEXT:
                raise UserError("That message is too long for me.")
            ctx = Ctx(s=w.s, out=w.out, svc=w.svc, now=w.now, chat=msg.chat, sender=msg.sender,
                      is_private=msg.is_private, is_admin=msg.sender_is_admin, person=person,
                      chapter=chapter, membership=membership, lang=event.language,
                      _=translator(event.language))
            await spec.handler(ctx, command.args)

        async def refuse(text: str) -> None:
            await self._say(msg.chat, text, received, once=msg.message_id)

        async def answer(text: str) -> None:
            await self._say(msg.chat, text, received)

        await self._handle(self._event(f"/{command.name}", msg.chat, msg.sender), body,
                           refuse, answer, received)

    async def handle_post(self, post: ChatPost) -> bool:
        """A message carrying a "#" that is no command: a post for a live wall when it
        carries the hashtag of an open wall (known in memory for a few seconds, so chatter
        costs no query), else nothing. False when it was nothing for a wall."""
        if not await self.walls.carries_one(post.text):
            return False
        photo = await wall_posts.fetch_photo(post)
        avatar = await wall_posts.fetch_avatar(post)

        async def body(w: Work, event: Event) -> None:
            if not await self._first_delivery(w, post.chat.platform, post.chat.id,
                                              post.message_id):
                return
            await wall_posts.take_post(w, post, photo, avatar)

        await self._handle(self._event("wall post", post.chat, post.sender), body,
                           self._log_refusal, None)
        return True

    async def _too_many(self, msg: Inbound) -> None:
        """Tell a member, once, that their commands here are ignored for now."""
        async def body(w: Work, event: Event) -> None:
            if msg.is_private:
                person, _identity = await person_for(w.s, msg.sender, w.now)
                event.language = await home_language(w.s, person, self.settings)
            else:
                chapter = await chapter_for_chat(w.s, msg.chat)
                if chapter is not None:
                    event.language = chapter.language
            raise UserError("{name}, that is more than {n} commands in a minute; I'll ignore "
                            "yours here for a minute.", name=msg.sender.name,
                            n=self.command_limit.per_minute)

        async def answer(text: str) -> None:
            await self._say(msg.chat, text)

        await self._handle(self._event("too many commands", msg.chat, msg.sender), body,
                           answer, answer)

    @staticmethod
    async def _first_delivery(w: Work, platform: str, chat_id: str, event_id: str | None) -> bool:
        """Record the event as handled in this unit of work; False when it was before (a
        platform delivering it again after a restart): its effect then happens once."""
        if event_id is None:
            return True
        # One INSERT … ON CONFLICT DO NOTHING (a savepoint around a plain insert costs three
        # statements, and this runs for every command).
        if await insert_skipping(
                w.s, HandledMessage, ["platform", "chat_id", "message_id"],
                [{"platform": platform, "chat_id": chat_id[:255], "message_id": event_id[:255],
                  "handled_at": w.now}], returning=[HandledMessage.id]):
            return True
        log.info("%s %s in %s was handled before", platform, event_id, chat_id)
        return False

    async def handle_poll_answer(self, answer: PollAnswer) -> None:
        """A native poll vote (empty option_indexes = vote taken back)."""
        await self.handle_poll_answers([answer])

    async def handle_poll_answers(self, answers: Sequence[PollAnswer],
                                  inbox: str | None = None) -> None:
        """Native poll votes in the order they were cast, in one unit of work (the Telegram
        adapter hands over the answers waiting for the same poll together): each event once,
        the latest answer of a voter counting (polls.record_answers).

        With `inbox` (a platform), an answer's event id is the update_id of its row in that
        platform's `inbox` table, and this unit of work marks the row handled: that records
        the event (a row marked before was handled before) in one UPDATE, instead of a row of
        `handled_messages` per answer and the adapter marking the inbox afterwards."""
        if not answers:
            return
        # An outsider's answer is marked handled with the rest, and not counted.
        counted = {id(a) for a in await self._from_members(answers)}

        def key(a: PollAnswer) -> tuple[str, str, str]:
            chat = "" if inbox is not None else f"poll:{a.platform_poll_id}"[:255]
            return (a.platform, chat, (a.event_id or "")[:255])

        async def body(w: Work, event: Event) -> None:
            if inbox is not None:
                fresh = {(inbox, "", str(uid)) for uid in await self._mark_inbox(
                    w, inbox, [int(a.event_id) for a in answers if a.event_id is not None])}
            else:
                fresh = await self._first_deliveries(w, [
                    (a.platform, f"poll:{a.platform_poll_id}", a.event_id)
                    for a in answers if a.event_id is not None])
            todo = []
            for a in answers:
                if a.event_id is None or key(a) in fresh:
                    fresh.discard(key(a))  # the same event twice in one batch counts once
                    if id(a) in counted:
                        todo.append(a)
            await polls.record_answers(w, todo)

        voter = answers[0].voter if len(answers) == 1 else None
        await self._handle(self._event(f"{len(answers)} poll answer(s)", None, voter), body,
                           self._log_refusal, None)

    @staticmethod
    async def _mark_inbox(w: Work, platform: str, update_ids: Sequence[int]) -> set[int]:
        """Mark these inbox rows handled; returns those that were not handled before."""
        fresh: set[int] = set()
        for part in chunks(sorted(set(update_ids)), 1000):
            result = await w.s.execute(
                update(InboxUpdate)
                .where(InboxUpdate.platform == platform, InboxUpdate.update_id.in_(part),
                       InboxUpdate.handled_at.is_(None))
                .values(handled_at=w.now).returning(InboxUpdate.update_id)
                .execution_options(synchronize_session=False))
            fresh.update(result.scalars())
        if len(fresh) < len(set(update_ids)):
            log.info("%d poll answer(s) were handled before", len(set(update_ids)) - len(fresh))
        return fresh

    @staticmethod
    async def _first_deliveries(w: Work, events: Sequence[tuple[str, str, str]]
                                ) -> set[tuple[str, str, str]]:
        """`_first_delivery` for many (platform, chat id, event id) at once: those not
        handled before, recorded as handled now."""
        rows = {(platform, chat_id[:255], event_id[:255]): None
                for platform, chat_id, event_id in events}
        inserted = await insert_skipping(
            w.s, HandledMessage, ["platform", "chat_id", "message_id"],
            [{"platform": p, "chat_id": c, "message_id": m, "handled_at": w.now}
             for p, c, m in rows],
            returning=[HandledMessage.platform, HandledMessage.chat_id,
                       HandledMessage.message_id])
        fresh = {(p, c, m) for p, c, m in inserted}
        if len(fresh) < len(rows):
            log.info("%d poll answer(s) were handled before", len(rows) - len(fresh))
        return fresh

    async def _from_members(self, answers: Sequence[PollAnswer]) -> list[PollAnswer]:
        """The answers whose voter may vote: known to the chapter, or a member of one of its
        chats on the platform (asked outside any transaction). bot/core/voters.py says why."""
        platforms = {a.platform for a in answers}
        if not any(isinstance(self.svc.messengers.get(p), MemberCheck) for p in platforms):
            return list(answers)  # platforms where only members can answer (the console)
        async with self.units() as w:
            to_ask = await voters.chats_to_ask(w.s, answers)
        if not to_ask:
            return list(answers)
        gate = asyncio.Semaphore(8)  # platform lookups side by side, a few at a time
        # One lookup a voter, however often they answered in this batch.
        lookups: dict[tuple[str, str, tuple[ChatRef, ...]], UserRef] = {
            (answers[i].platform, answers[i].voter.id, tuple(chats)): answers[i].voter
            for i, chats in to_ask.items()}

        async def may_vote(platform: str, chats: tuple[ChatRef, ...], voter: UserRef) -> bool:
            messenger = self.svc.messengers.get(platform)
            if not isinstance(messenger, MemberCheck):
                return True
            async with gate:
                return await self._in_any(messenger, chats, voter)

        verdicts = dict(zip(lookups, await asyncio.gather(
            *(may_vote(p, chats, voter) for (p, _id, chats), voter in lookups.items())),
            strict=True))
        kept = []
        for i, answer in enumerate(answers):
            if i in to_ask and not verdicts[(answer.platform, answer.voter.id,
                                             tuple(to_ask[i]))]:
                log.info("poll answer from %s, who is in none of the poll's chats: not "
                         "counted", answer.voter)
                continue
            kept.append(answer)
        return kept

    @staticmethod
    async def _in_any(messenger: MemberCheck, chats: Sequence[ChatRef], voter: UserRef) -> bool:
        for chat in chats:
            if await messenger.is_member(chat, voter):
                return True
        return False

    async def handle_poll_end(self, end: PollEnd) -> None:
        """An organiser ended the bot's poll in their client: close it now."""
        async def body(w: Work, event: Event) -> None:
            if not await self._first_delivery(w, end.chat.platform, end.chat.id, end.event_id):
                return
            poll = await polls.open_poll_posted_in(w.s, end.chat, end.platform_poll_id)
            if poll is None:
                return
            chapter = await w.s.get_one(Chapter, poll.chapter_id)
            event.language = chapter.language
            person, _identity = await person_for(w.s, end.sender, w.now)
            membership = await ensure_membership(w.s, chapter, person, w.now)
            if end.sender_is_admin or membership.is_organiser:
                await polls.close_poll(w, poll)
            else:
                w.out.reply(end.chat, gettext(
                    chapter.language, "Only organisers can close the poll; it stays open "
                                      "until {closes}.",
                    closes=format_when(poll.closes_at, chapter.timezone, chapter.language)))

        await self._handle(self._event("poll end", end.chat, end.sender), body,
                           self._log_refusal, None)

    async def handle_rsvp_action(self, action: RsvpAction) -> Reply:
        """A button press; the Reply is the short toast the platform shows."""
        if action.payload.startswith(confirm.PAYLOAD):
            return await self._confirm_press(action)

        async def body(w: Work, event: Event) -> Reply:
            if not await self._first_delivery(w, action.chat.platform, action.chat.id,
                                              action.event_id):
                return await self._answer_given(w, action, event)
            # The presser, the chat's chapter and their membership of it in one query.
            known = await sender_in(w.s, action.sender, action.chat, w.now)
            person, chapter = known.person, known.chapter
            if chapter is None:  # a button under a DM'd announcement
                chapter = await rsvp.dm_announcement_chapter(w.s, action.chat, action.payload)
            if chapter is not None:
                event.language = chapter.language
            line = await rsvp.answer(w, chapter, person, rsvp.parse_payload(action.payload))
            if chapter is not None and known.membership is None:
                await ensure_membership(w.s, chapter, person, w.now)
            await self._keep_answer(w, action, line)
            return Reply(line, True)

        async def refused(text: str) -> Reply:
            return Reply(text, False)

        return await self._handle(self._event("button", action.chat, action.sender), body,
                                  refused, refused)

    async def _confirm_press(self, action: RsvpAction) -> Reply:
        """The button under a "really?" question (bot/core/confirm.py): the command runs as if
        the person who asked had sent it again with `yes`."""
        async def body(w: Work, event: Event) -> Reply:
            if not await self._first_delivery(w, action.chat.platform, action.chat.id,
                                              action.event_id):
                return await self._answer_given(w, action, event)
            known = await sender_in(w.s, action.sender, action.chat, w.now)
            person, chapter, membership = known.person, known.chapter, known.membership
            if chapter is None or membership is None:
                raise UserError("That button isn't valid.")
            event.language = chapter.language
            ctx = Ctx(s=w.s, out=w.out, svc=w.svc, now=w.now, chat=action.chat,
                      sender=action.sender, is_private=False, is_admin=action.sender_is_admin,
                      person=person, chapter=chapter, membership=membership,
                      lang=chapter.language, _=translator(chapter.language))
            pending = await confirm.pending_by_token(ctx, action.payload[len(confirm.PAYLOAD):])
            await COMMANDS[pending.command].handler(ctx, f"{pending.args} yes")
            await self._keep_answer(w, action, ctx._("Done."))
            return Reply(ctx._("Done."), True)

        async def refused(text: str) -> Reply:
            return Reply(text, False)

        return await self._handle(self._event("confirmation", action.chat, action.sender),
                                  body, refused, refused)

    @staticmethod
    async def _keep_answer(w: Work, action: RsvpAction, text: str) -> None:
        """Keep a press's toast with its record, for `_answer_given`."""
        if action.event_id is None:
            return
        await w.s.execute(_KEEP_ANSWER, {"h_platform": action.chat.platform,
                                         "h_chat": action.chat.id[:255],
                                         "h_event": action.event_id[:255],
                                         "h_answer": text[:255]})

    @staticmethod
    async def _answer_given(w: Work, action: RsvpAction, event: Event) -> Reply:
        """A press handled before: answered the first time (an empty accepted Reply), unless
        this is a try again after losing the database, whose first commit went through with
        the answer lost: then that try's toast is shown now, or the press would never be
        answered."""
        assert action.event_id is not None
        if not event.retried:
            return Reply("", True)
        kept = await w.s.scalar(select(HandledMessage.answer).where(
            HandledMessage.platform == action.chat.platform,
            HandledMessage.chat_id == action.chat.id[:255],
            HandledMessage.message_id == action.event_id[:255]))
        return Reply(kept or "", True)

    async def handle_reaction(self, reaction: ReactionRsvp) -> None:
        """A reaction added/removed on a message the bot posted (Matrix RSVP)."""
        async def body(w: Work, event: Event) -> None:
            if not await self._first_delivery(w, reaction.chat.platform, reaction.chat.id,
                                              reaction.event_id):
                return
            post = await w.s.scalar(select(PostedMessage).where(
                PostedMessage.platform == reaction.chat.platform,
                PostedMessage.chat_id == reaction.chat.id,
                PostedMessage.message_id == reaction.message_id,
                PostedMessage.kind.in_([PostKind.ANNOUNCEMENT, PostKind.DM_ANNOUNCEMENT])))
            if post is None or post.meetup_id is None:
                return
            meetup = await w.s.get_one(Meetup, post.meetup_id)
            chapter = await w.s.get_one(Chapter, meetup.chapter_id)
            event.language = chapter.language
            if not rsvp.still_open(meetup, w):  # an old announcement: no answer to it
                return
            person, _identity = await person_for(w.s, reaction.sender, w.now)
            await ensure_membership(w.s, chapter, person, w.now)
            request = rsvp.RsvpRequest(reaction.answer, None, meetup.id)
            w.out.reply(reaction.chat, await rsvp.answer(w, chapter, person, request))

        async def answer(text: str) -> None:
            await self._say(reaction.chat, text)

        await self._handle(self._event("reaction", reaction.chat, reaction.sender), body,
                           answer, None)

    async def migrate_chat(self, old: ChatRef, new: ChatRef) -> None:
        """A chat changed its id (Telegram group -> supergroup): keep its chapter."""
        async def body(w: Work, event: Event) -> None:
            await w.s.execute(update(ChatBinding).where(
                ChatBinding.platform == old.platform, ChatBinding.chat_id == old.id)
                .values(platform=new.platform, chat_id=new.id))
            await w.s.execute(update(PostedMessage).where(
                PostedMessage.platform == old.platform, PostedMessage.chat_id == old.id)
                .values(platform=new.platform, chat_id=new.id))

        await self._handle(self._event("chat migration", old, None), body,
                           self._log_refusal, None)

    async def latest_edit(self, chat: ChatRef, message_id: str
                          ) -> tuple[str, tuple[Button, ...]] | None:
        """The newest text and buttons queued for a message (by any copy): what an adapter
        that paces edits applies when the edit goes out, so the message ends on it."""
        async with self.db.transaction() as s:
            payload = await s.scalar(
                select(OutboxMessage.payload).where(
                    OutboxMessage.chat_key == chat_key(chat),
                    OutboxMessage.kind == OutboxKind.EDIT,
                    OutboxMessage.target_message_id == message_id)
                .order_by(OutboxMessage.id.desc()).limit(1))
        if payload is None:
            return None
        data = json.loads(payload)
        return data["text"], tuple(Button(label, value) for label, value in data["buttons"])

    async def is_chapter_chat(self, chat: ChatRef) -> bool:
        """Whether a chapter is bound to this chat (an adapter leaves rooms that never are)."""
        async with self.units() as w:
            return await chapter_for_chat(w.s, chat) is not None

    # --- what is due -----------------------------------------------------------------------------

    async def next_due_at(self) -> datetime | None:
        async with self.units() as w:
            return await delivery.next_due_at(w)

    async def run_due(self) -> int:
        """Close due polls and send due reminders, in batches; returns how many were handled."""
        return await delivery.run_due(self.units)

    async def forget_handled(self, older_than: timedelta | None = None) -> None:
        """Housekeeping: platforms don't deliver a message again after days."""
        keep = older_than if older_than is not None else self.settings.keep_handled
        await housekeeping.delete_in_batches(
            self.units, HandledMessage,
            lambda: housekeeping.old_handled(self.svc.clock.now() - keep))

    async def resume(self) -> int:
        """At start, before the adapters read: edits that may not have reached a platform
        before the last stop are queued again (delivery.repeat_recent_edits)."""
        return await delivery.repeat_recent_edits(self.units, RESUME_EDITS_WITHIN)

    async def prune(self) -> housekeeping.Pruned:
        """Housekeeping (every 6 hours): delete outbox rows sent, inbox updates and event ids
        handled a week ago, and the posts of meetups and polls over a month ago, in batches
        (bot/core/housekeeping.py)."""
        return await housekeeping.prune(self.units)

    # --- shutting down -------------------------------------------------------------------------

    def begin_shutdown(self, deadline: datetime | None = None) -> datetime:
        """Stop sending at `deadline` (default: `shutdown_deadline` from now): senders record
        what they sent and leave the rest to the next start. Returns the deadline."""
        if deadline is None:
            deadline = self.svc.clock.now() + self.settings.shutdown_deadline
        self.units.stop_sending_at(deadline)
        assert self.units.deadline is not None
        return self.units.deadline

    async def drain(self, deadline: datetime | None = None) -> int:
        """Shutting down, once the adapters stopped taking input: wait for the units of work
        in progress, then send what the outbox still holds, until the deadline. Returns how
        many rows are left for the next start."""
        deadline = self.begin_shutdown(deadline)
        units = self.units
        clock = self.svc.clock

        async def wait_idle(until: datetime) -> None:
            left = (until - clock.now()).total_seconds()
            if units.in_flight and left > 0:
                try:  # asyncio.timeout: wait_for may swallow a cancellation (bot/waiting.py)
                    async with asyncio.timeout(left):
                        await units.idle()
                except TimeoutError:
                    pass

        await wait_idle(deadline)
        while not units.past_deadline():
            try:
                if await delivery.send_pending(units) == 0:
                    break
            except Exception:
                log.exception("sending the outbox while shutting down failed")
                break
        # Past the deadline a sender finishes the row in hand, records, and releases the rest.
        await wait_idle(max(deadline, clock.now()) + DRAIN_GRACE)
        try:
            async with self.units() as w:
                left = await delivery.pending_count(w)
        except Exception:
            log.exception("counting the outbox while shutting down failed")
            return -1
        return left
