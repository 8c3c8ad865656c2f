"""The command core's front door: the one object every adapter calls.

Each inbound event is handled in one unit of work: the person and chapter are loaded, the
use case runs, and the transaction commits; a UserError rolls everything back and becomes a
short reply in the chat's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import attendance, chapters, meetups, polls, recurring, reminders
from bot.core.commands import MAX_COMMAND_TEXT, parse_command
from bot.core.context import (
    CoreSettings,
    Ctx,
    Services,
    chapter_for_chat,
    dm_failed,
    ensure_membership,
    person_for,
)
from bot.core.errors import UserError
from bot.core.i18n import format_when, gettext, translator
from bot.core.messages import (
    ChatRef,
    Inbound,
    PollAnswer,
    PollEnd,
    ReactionRsvp,
    Reply,
    RsvpAction,
)
from bot.core.outbox import Outbox, outbox_of
from bot.core.ports import Clock, Messenger
from bot.core.reminders import claim_reminders, next_due_at
from bot.db.models import (
    Chapter,
    ChatBinding,
    HandledMessage,
    Meetup,
    Person,
    Poll,
    PostedMessage,
    Reminder,
)
from bot.db.session import Database

log = logging.getLogger(__name__)

Handler = Callable[[Ctx, str], Awaitable[None]]


ROUTES: dict[str, Handler] = {
    "start": chapters.start,
    "help": chapters.help_command,
    "setup": chapters.setup,
    "link": chapters.link,
    "newmeetup": meetups.new_meetup,
    "poll": polls.new_poll,
    "vote": polls.vote_command,
    "closepoll": polls.close_poll_command,
    "meetups": meetups.list_meetups,
    "rsvp": meetups.rsvp_command,
    "who": meetups.who,
    "intro": chapters.intro,
    "next": chapters.next_interest,
    "remind": chapters.remind,
    "language": chapters.language,
    "ics": meetups.ics,
    "cancel": meetups.cancel,
    "recurring": recurring.recurring,
    "checkin": attendance.checkin,
    "stats": attendance.stats,
}


class Core:
    def __init__(
        self,
        db: Database,
        messengers: Mapping[str, Messenger],
        clock: Clock,
        settings: CoreSettings | None = None,
        due_changed: Callable[[datetime], None] | None = None,
    ) -> None:
        self.db = db
        self.svc = Services(messengers=messengers, clock=clock,
                            settings=settings or CoreSettings())
        if due_changed is not None:
            self.svc.due_changed = due_changed
        # SQLite allows one writer at a time; queue our own units of work instead of
        # letting them fail with "database is locked".
        self._serial = asyncio.Lock() if db.dialect == "sqlite" else None

    @property
    def settings(self) -> CoreSettings:
        return self.svc.settings

    def set_due_listener(self, listener: Callable[[datetime], None]) -> None:
        self.svc.due_changed = listener

    def _unit(self) -> contextlib.AbstractAsyncContextManager[object]:
        return self._serial if self._serial is not None else contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def _work(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: a transaction with an outbox, whose messages are sent after
        the commit. When the block raises, nothing is written and nothing is sent."""
        box = Outbox()
        async with self._unit():
            async with self.db.transaction() as s:
                s.info["outbox"] = box
                yield s
        await self._deliver(box)

    async def _deliver(self, box: Outbox) -> None:
        # Recording what came back can queue more (the "start me" hint): a few rounds at most.
        for _round in range(3):
            results = await box.flush(self.svc.messenger)
            if not results:
                return
            box = Outbox()
            async with self._unit(), self.db.transaction() as s:
                s.info["outbox"] = box
                now = self.svc.clock.now()
                for row in results.posted:
                    s.add(PostedMessage(**row, created_at=now))
                for failed in results.failures:
                    person = await s.get_one(Person, failed.person_id)
                    chapter = await s.get_one(Chapter, failed.chapter_id)
                    await dm_failed(s, self.svc, now, person, chapter, failed.meetup_id,
                                    failed.failure)

    # --- inbound -----------------------------------------------------------------------------

    async def handle_message(self, msg: Inbound) -> None:
        """A text message in a group or DM: commands are answered through the messengers."""
        command = parse_command(msg.text)
        if command is None:
            return
        handler = ROUTES.get(command.name)
        language = self.settings.default_language
        try:
            async with self._work() as s:
                now = self.svc.clock.now()
                if not await self._first_delivery(s, msg, now):
                    log.info("%s %s in %s was handled before", msg.chat.platform,
                             msg.message_id, msg.chat.id)
                    return
                person, identity = await person_for(s, msg.sender, now)
                chapter = None if msg.is_private else await chapter_for_chat(s, msg.chat)
                membership = (await ensure_membership(s, chapter, person, now)
                              if chapter else None)
                if msg.is_private:
                    identity.dm_started = True
                    language = person.language or await self._home_language(s, person.id)
                elif chapter is not None:
                    language = chapter.language
                if handler is None:
                    if msg.is_private or chapter is not None:
                        raise UserError("I don't know /{name}. /help lists what I can do.",
                                        name=command.name[:30])
                    return
                if len(msg.text) > MAX_COMMAND_TEXT:
                    raise UserError("That message is too long for me.")
                ctx = Ctx(s=s, svc=self.svc, now=now, chat=msg.chat, sender=msg.sender,
                          is_private=msg.is_private, is_admin=msg.sender_is_admin,
                          person=person, chapter=chapter, membership=membership,
                          lang=language, _=translator(language))
                await handler(ctx, command.args)
        except UserError as err:
            await self._say(msg.chat, gettext(language, err.message, **err.values))
        except Exception:
            log.exception("command %r failed", command.name)
            await self._say(msg.chat, gettext(language, "Something went wrong on my side; "
                                                        "nothing was changed. Try again later."))

    @staticmethod
    async def _first_delivery(s: AsyncSession, msg: Inbound, now: datetime) -> bool:
        if msg.message_id is None:
            return True
        try:
            async with s.begin_nested():
                s.add(HandledMessage(platform=msg.chat.platform, chat_id=msg.chat.id,
                                     message_id=msg.message_id[:255], handled_at=now))
                await s.flush()
        except IntegrityError:
            return False
        return True

    async def forget_handled(self, older_than: timedelta = timedelta(days=7)) -> None:
        """Housekeeping: platforms don't deliver a message again after days."""
        async with self._unit(), self.db.transaction() as s:
            await s.execute(delete(HandledMessage).where(
                HandledMessage.handled_at < self.svc.clock.now() - older_than))

    async def _home_language(self, s, person_id: int) -> str:
        from bot.db.models import Membership

        chapter = await s.scalar(select(Chapter).join(Membership, Membership.chapter_id
                                                      == Chapter.id)
                                 .where(Membership.person_id == person_id).limit(1))
        return chapter.language if chapter else self.settings.default_language

    async def _say(self, chat: ChatRef, text: str) -> None:
        try:
            await self.svc.messenger(chat.platform).send_text(chat, text)
        except Exception:
            log.exception("could not reply in %s", chat)

    async def handle_poll_answer(self, answer: PollAnswer) -> None:
        """A native poll vote (empty option_indexes = vote taken back)."""
        try:
            async with self._work() as s:
                now = self.svc.clock.now()
                person, _identity = await person_for(s, answer.voter, now)
                await polls.vote_by_answer(s, now, answer.platform, answer.platform_poll_id,
                                           person, list(answer.option_indexes))
        except UserError as err:
            log.info("poll answer refused: %s", err.message)

    async def handle_poll_end(self, end: PollEnd) -> None:
        """An organiser ended the bot's poll in their client: close it now."""
        async with self._work() as s:
            now = self.svc.clock.now()
            poll = await polls.open_poll_posted_in(s, end.chat, end.platform_poll_id)
            if poll is None:
                return
            chapter = await s.get_one(Chapter, poll.chapter_id)
            person, _identity = await person_for(s, end.sender, now)
            membership = await ensure_membership(s, chapter, person, now)
            if end.sender_is_admin or membership.is_organiser:
                await polls.close_poll(s, self.svc, now, poll)
            else:
                outbox_of(s).text(end.chat, gettext(
                    chapter.language, "Only organisers can close the poll; it stays open "
                                      "until {closes}.",
                    closes=format_when(poll.closes_at, chapter.timezone, chapter.language)))

    async def handle_rsvp_action(self, action: RsvpAction) -> Reply:
        """A button press; the Reply is the short toast the platform shows."""
        try:
            async with self._work() as s:
                now = self.svc.clock.now()
                person, _identity = await person_for(s, action.sender, now)
                chapter = await chapter_for_chat(s, action.chat)
                text, accepted = await meetups.rsvp_by_payload(s, self.svc, now, chapter,
                                                               person, action.payload)
                if not accepted:
                    raise _Refused(text)
                if chapter is not None:
                    await ensure_membership(s, chapter, person, now)
                return Reply(text, True)
        except _Refused as refused:
            return Reply(refused.text, False)

    async def handle_reaction(self, reaction: ReactionRsvp) -> None:
        """A reaction added/removed on a message the bot posted (Matrix RSVP)."""
        async with self._work() as s:
            post = await s.scalar(select(PostedMessage).where(
                PostedMessage.platform == reaction.chat.platform,
                PostedMessage.chat_id == reaction.chat.id,
                PostedMessage.message_id == reaction.message_id,
                PostedMessage.kind == "announcement"))
            if post is None or post.meetup_id is None:
                return
            now = self.svc.clock.now()
            meetup = await s.get_one(Meetup, post.meetup_id)
            chapter = await s.get_one(Chapter, meetup.chapter_id)
            if meetup.status != "scheduled" or meetup.starts_at is None or meetup.starts_at <= now:
                return
            person, _identity = await person_for(s, reaction.sender, now)
            await ensure_membership(s, chapter, person, now)
            try:
                async with s.begin_nested():
                    line = await meetups.apply_rsvp(s, self.svc, now, meetup, chapter, person,
                                                    reaction.answer, None)
            except UserError as err:
                line = gettext(chapter.language, err.message, **err.values)
            outbox_of(s).text(reaction.chat, line)

    async def migrate_chat(self, old: ChatRef, new: ChatRef) -> None:
        """A chat changed its id (Telegram group -> supergroup): keep its chapter."""
        async with self._work() as s:
            await s.execute(update(ChatBinding).where(
                ChatBinding.platform == old.platform, ChatBinding.chat_id == old.id)
                .values(platform=new.platform, chat_id=new.id))
            await s.execute(update(PostedMessage).where(
                PostedMessage.platform == old.platform, PostedMessage.chat_id == old.id)
                .values(platform=new.platform, chat_id=new.id))

    # --- what is due -------------------------------------------------------------------------

    async def next_due_at(self) -> datetime | None:
        async with self.db.transaction() as s:
            return await next_due_at(s)

    async def run_due(self) -> int:
        """Close due polls and send due reminders, in batches; returns how many were handled."""
        handled = 0
        while True:
            batch = await self._close_due_polls() + await self._send_due_reminders()
            handled += batch
            if batch == 0:
                return handled

    async def _close_due_polls(self) -> int:
        now = self.svc.clock.now()
        async with self._unit(), self.db.transaction() as s:
            free = (Poll.claimed_until.is_(None)) | (Poll.claimed_until <= now)
            ids = list(await s.scalars(select(Poll.id).where(
                Poll.closed_at.is_(None), Poll.closes_at <= now, free).order_by(Poll.closes_at)))
            won = []
            for pid in ids:
                result = await s.execute(update(Poll).where(
                    Poll.id == pid, Poll.closed_at.is_(None), free)
                    .values(claimed_until=now + self.settings.claim_lease)
                    .execution_options(synchronize_session=False))
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    won.append(pid)
        for pid in won:
            try:
                async with self._work() as s:
                    poll = await s.get_one(Poll, pid)
                    if poll.closed_at is None:
                        await polls.close_poll(s, self.svc, now, poll)
            except Exception:
                log.exception("closing poll %s failed; it is retried after its lease", pid)
        return len(won)

    async def _send_due_reminders(self) -> int:
        now = self.svc.clock.now()
        async with self._work() as s:
            won = await claim_reminders(s, self.svc, now)
        # Sent side by side: with a platform's network latency one at a time would be far
        # slower than its rate limits allow. Only sending happens outside the database.
        gate = asyncio.Semaphore(self.settings.send_concurrency)

        async def one(rid: int) -> None:
            async with gate:
                try:
                    await self._send_reminder(rid, now)
                except Exception:
                    log.exception("reminder %s failed; it is retried after its lease", rid)

        await asyncio.gather(*(one(rid) for rid in won))
        return len(won)

    async def _send_reminder(self, rid: int, now: datetime) -> None:
        async with self._work() as s:
            reminder = await s.get_one(Reminder, rid)
            if reminder.status != "pending":
                return
            prepared = await reminders.prepare(s, self.svc, now, reminder)
            if isinstance(prepared, str):
                await reminders.finish(s, self.svc, now, None, reminder, prepared, None)
                return
        status, failure = await reminders.send(self.svc, prepared)
        async with self._work() as s:
            reminder = await s.get_one(Reminder, rid)
            await reminders.finish(s, self.svc, now, prepared, reminder, status, failure)


class _Refused(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text
