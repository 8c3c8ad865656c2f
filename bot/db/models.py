"""The database schema: SQLAlchemy 2 typed models, one MetaData with a naming convention."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite has no time zones), always handed out timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class MeetupStatus(StrEnum):
    POLLING = "polling"  # its date is still being voted on
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RsvpStatus(StrEnum):
    YES = "yes"
    MAYBE = "maybe"
    NO = "no"
    WAITLIST = "waitlist"


class PollKind(StrEnum):
    DATE = "date"  # sets its meetup's date when it closes
    PLAIN = "plain"


class ReminderKind(StrEnum):
    PERSON = "person"  # a DM before the meetup
    GROUP = "group"  # the chapter's chats, the day before
    FOLLOW_UP = "follow_up"  # the chapter's chats, after the meetup: "thanks, /next"
    POLL_NUDGE = "poll_nudge"  # 12 h before a date poll closes: the group, and yes-sayers by DM


class ReminderStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"  # its DM is in the outbox
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


class OutboxKind(StrEnum):
    TEXT = "text"
    EDIT = "edit"
    POLL = "poll"
    CLOSE_POLL = "close_poll"
    FILE = "file"
    DM = "dm"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # the platform refused it for good (logged); not sent again
    PASSED_ON = "passed_on"  # a DM whose next account is on a platform another copy serves


class OrganiserReason(StrEnum):
    """Why someone organises the whole chapter (admins of a chat organise in that chat, checked
    live, and need no row)."""

    SETUP = "setup"  # set up the chapter
    ADDED = "added"  # named by another organiser


class PostKind(StrEnum):
    ANNOUNCEMENT = "announcement"  # a meetup with its RSVP buttons
    POLL = "poll"
    DM_ANNOUNCEMENT = "dm_announcement"  # a new meetup DM'd to a follower, with RSVP buttons


E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E]):
    """A StrEnum stored as its plain text value (no database enum type to migrate)."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Chapter(Base):
    __tablename__ = "chapters"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    reminder_offsets: Mapped[str | None] = mapped_column(String(120))  # "24h 2h"; None: default
    # /recurring: an RFC 5545 RRULE in the chapter's wall-clock time (e.g.
    # "FREQ=MONTHLY;BYDAY=+1TH;BYHOUR=19;BYMINUTE=30"), counted from the local date it was set
    # (DTSTART; it fixes which weeks an "every 2 weeks" rule falls in), and the template of the
    # meetups it opens (no title: the chapter's name).
    recurring_rule: Mapped[str | None] = mapped_column(String(200))
    recurring_since: Mapped[date | None] = mapped_column(Date)
    recurring_title: Mapped[str | None] = mapped_column(String(200))
    recurring_venue: Mapped[str | None] = mapped_column(String(200))
    recurring_capacity: Mapped[int | None] = mapped_column(Integer)
    # A one-time code that binds another group or room (on any platform) to this chapter.
    link_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    link_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Its web page's address, /c/<slug> (bot/core/slugs.py): made from the name at /setup,
    # unique, kept when the name changes so shared links keep working.
    slug: Mapped[str | None] = mapped_column(String(80), unique=True)


class ChatBinding(Base):
    """A group chat or room on one platform that belongs to a chapter."""

    __tablename__ = "chat_bindings"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(255))


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(120))
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    intro: Mapped[str | None] = mapped_column(String(300))
    reminder_offsets: Mapped[str | None] = mapped_column(String(120))  # "off", "1d 2h", None
    remind_via: Mapped[str | None] = mapped_column(String(16))  # a platform; None: last spoken
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Identity(Base):
    """One person's account on one platform."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(120))
    dm_started: Mapped[bool] = mapped_column(Boolean, default=False)
    last_spoke_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccountCode(Base):
    """A one-time code from /whoami: sent from another platform's account within its time, it
    joins that account to this person."""

    __tablename__ = "account_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))  # where it was asked for
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Membership(Base):
    """Someone seen in a chapter's chat. `is_organiser`: an organiser of the whole chapter, who
    set it up or was named by an organiser (`organiser_reason`, `organiser_added_by`), until an
    organiser removes them. Admins of a chat organise in that chat without the flag."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("chapter_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    is_organiser: Mapped[bool] = mapped_column(Boolean, default=False)
    organiser_reason: Mapped[OrganiserReason | None] = mapped_column(EnumText(OrganiserReason, 16))
    organiser_added_by: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"))
    organiser_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChatAdmin(Base):
    """Someone the bot last saw as an admin of one of a chapter's chats, for /organisers. Their
    rights there are checked live with every command; this row only names them, and goes when
    they write there as a non-admin or the chat is unlinked."""

    __tablename__ = "chat_admins"
    __table_args__ = (UniqueConstraint("binding_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    binding_id: Mapped[int] = mapped_column(ForeignKey("chat_bindings.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Confirmation(Base):
    """A destructive command (/cancel, /recurring off, /unlink) asked about and waiting for its
    "yes" from the same person: the button (`token`) or the same command again with `yes`,
    until `expires_at`. One per person, chapter and command: asking again replaces it."""

    __tablename__ = "confirmations"
    __table_args__ = (UniqueConstraint("chapter_id", "person_id", "command"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    command: Mapped[str] = mapped_column(String(32))
    args: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Meetup(Base):
    __tablename__ = "meetups"
    __table_args__ = (Index("ix_meetups_chapter_status_start", "chapter_id", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str | None] = mapped_column(String(200))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    capacity: Mapped[int | None] = mapped_column(Integer)
    about: Mapped[str | None] = mapped_column(String(1000))
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    online_link: Mapped[str | None] = mapped_column(String(500))
    hashtag: Mapped[str | None] = mapped_column(String(100))
    # Raised by every /edit: a calendar file carries it as SEQUENCE (RFC 5545).
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[MeetupStatus] = mapped_column(EnumText(MeetupStatus, 16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Poll(Base):
    __tablename__ = "polls"
    __table_args__ = (
        Index("ix_polls_due", "closed_at", "closes_at"),
        # One open poll per chapter, kept by the database even when two copies race.
        Index("ux_polls_one_open", "chapter_id", unique=True,
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id", ondelete="CASCADE"), index=True)
    meetup_id: Mapped[int | None] = mapped_column(ForeignKey("meetups.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(300))
    kind: Mapped[PollKind] = mapped_column(EnumText(PollKind, 8))
    multiple: Mapped[bool] = mapped_column(Boolean, default=True)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Tries at closing it (counted when claimed); given up after `CoreSettings.max_attempts`.
    close_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PollOption(Base):
    __tablename__ = "poll_options"
    __table_args__ = (UniqueConstraint("poll_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 0-based, as posted
    label: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("option_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("poll_options.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Rsvp(Base):
    __tablename__ = "rsvps"
    __table_args__ = (UniqueConstraint("meetup_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    status: Mapped[RsvpStatus] = mapped_column(EnumText(RsvpStatus, 16))
    guests: Mapped[int] = mapped_column(Integer, default=0)
    # Order on the waitlist: a growing number, so positions survive people leaving it.
    waitlist_seq: Mapped[int | None] = mapped_column(BigInteger)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Reminder(Base):
    """One message due at one time: a DM to a person (`kind` person), or the chapter's chats
    (group, follow_up; person_id NULL). `offset_minutes` is counted back from the start, so
    the follow-up, after the meetup, has a negative one."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_due", "status", "due_at"),
        # The few rows being sent (claimed), for the scheduler's next wake (next_due_at).
        Index("ix_reminders_claimed", "status", "claimed_until"),
        UniqueConstraint("meetup_id", "person_id", "offset_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[ReminderKind] = mapped_column(EnumText(ReminderKind, 16))
    offset_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[ReminderStatus] = mapped_column(EnumText(ReminderStatus, 16))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Tries (counted when claimed); failed after `CoreSettings.max_attempts`.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PostedMessage(Base):
    """A message or poll the bot posted, so answers, reactions and edits find their way back."""

    __tablename__ = "posted_messages"
    __table_args__ = (
        Index("ix_posted_messages_lookup", "platform", "chat_id", "message_id"),
        Index("ix_posted_messages_poll", "platform", "platform_poll_id"),
        Index("ix_posted_messages_meetup", "meetup_id", "kind"),
        Index("ix_posted_messages_poll_id", "poll_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id", ondelete="CASCADE"))
    kind: Mapped[PostKind] = mapped_column(EnumText(PostKind, 16))
    meetup_id: Mapped[int | None] = mapped_column(ForeignKey("meetups.id", ondelete="CASCADE"))
    poll_id: Mapped[int | None] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str] = mapped_column(String(255))
    platform_poll_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Interest(Base):
    """'Tell me when the next one is announced.'"""

    __tablename__ = "interests"
    __table_args__ = (UniqueConstraint("chapter_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Follow(Base):
    """/follow: a DM for every new meetup of the chapter, until /unfollow."""

    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("chapter_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CalendarSent(Base):
    """The calendar file a person has of a meetup: sent once, again only after a change
    (a higher `Meetup.sequence`)."""

    __tablename__ = "calendar_sends"
    __table_args__ = (UniqueConstraint("person_id", "meetup_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id", ondelete="CASCADE"),
                                           index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DmHint(Base):
    """A person named once in the group because they can't be DM'd about a meetup."""

    __tablename__ = "dm_hints"
    __table_args__ = (UniqueConstraint("person_id", "meetup_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HandledMessage(Base):
    """A command the core has handled: a platform that delivers it again (a restart, a
    replayed sync) does not get it run twice."""

    __tablename__ = "handled_messages"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str] = mapped_column(String(255))
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # A button press's toast: shown again when the press is handled a second time because
    # the database's answer to the first commit was lost.
    answer: Mapped[str | None] = mapped_column(String(255))


class OutboxMessage(Base):
    """A message the bot owes: written in the transaction of the change it announces, sent
    after the commit (and at start, if the process died first), then marked sent with what the
    platform answered. `chat_key` orders the rows of one chat (or one person's DMs)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "id"),
        Index("ix_outbox_chat", "chat_key", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(EnumText(OutboxKind, 16))
    platform: Mapped[str] = mapped_column(String(16))  # the first target's, for a DM
    chat_key: Mapped[str] = mapped_column(String(300))
    target_message_id: Mapped[str | None] = mapped_column(String(255))  # an edit's message
    payload: Mapped[str] = mapped_column(Text)  # JSON: what to send, how to record it
    status: Mapped[OutboxStatus] = mapped_column(EnumText(OutboxStatus, 16))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class InboxUpdate(Base):
    """An update from a platform, stored before it is confirmed to the platform and marked
    handled in the unit of work that handles it: nothing confirmed is ever lost."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "update_id"),
        Index("ix_inbox_unhandled", "platform", "handled_at", "update_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    update_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)  # the update as the platform sent it (JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Handlers that raised on it; at the adapter's limit it is marked handled and failed.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AdapterState(Base):
    """Small key/value state an adapter keeps across restarts (Matrix sync token, device id)."""

    __tablename__ = "adapter_state"
    __table_args__ = (UniqueConstraint("platform", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(120))
    value: Mapped[str] = mapped_column(Text)


class CalendarToken(Base):
    """/calendar: the secret in a member's private feed URL (/feed/<token>.ics) of the meetups
    they said yes or maybe to. `/calendar reset` replaces it; the old URL then finds nothing."""

    __tablename__ = "calendar_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"),
                                           unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Wall(Base):
    """A live wall (issue 13): the posts carrying `hashtag` in the chapter's chats, shown at
    /w/<id>. `id` is unguessable (it is the wall's address); `token` is the secret of its
    moderation page."""

    __tablename__ = "walls"
    __table_args__ = (Index("ix_walls_chapter_closed", "chapter_id", "closed_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id", ondelete="CASCADE"))
    meetup_id: Mapped[int | None] = mapped_column(ForeignKey("meetups.id", ondelete="SET NULL"))
    hashtag: Mapped[str] = mapped_column(String(100))  # lower case, with the "#"
    token: Mapped[str] = mapped_column(String(64))
    approval_first: Mapped[bool] = mapped_column(Boolean, default=False)
    join_url: Mapped[str | None] = mapped_column(String(500))  # what the QR code opens
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WallPost(Base):
    """A message on a wall: first name only, the text as written, a photo kept on disk."""

    __tablename__ = "wall_posts"
    __table_args__ = (UniqueConstraint("wall_id", "number"),
                      UniqueConstraint("platform", "source_event_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    wall_id: Mapped[str] = mapped_column(ForeignKey("walls.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # shown on the post: /wall hide N
    platform: Mapped[str] = mapped_column(String(16))
    author_name: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str] = mapped_column(String(255))  # the platform's user id (for bans)
    text: Mapped[str] = mapped_column(String(2000))
    photo: Mapped[str | None] = mapped_column(String(200))  # a file name in the photo folder
    avatar: Mapped[str | None] = mapped_column(String(200))  # the author's, same folder
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source_event_id: Mapped[str] = mapped_column(String(255))


class WallBan(Base):
    """An author an organiser banned from a wall: their posts are no longer taken."""

    __tablename__ = "wall_bans"
    __table_args__ = (UniqueConstraint("wall_id", "platform", "author_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wall_id: Mapped[str] = mapped_column(ForeignKey("walls.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
