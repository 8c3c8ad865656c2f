"""The command table: every command's name, who may use it, its example and help line (msgids,
shown in the chat's language), its line in Telegram's command menu, and its handler. It
drives the routes, /help, the Telegram menu and the README's table (a test keeps that in
step)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.core import (
    accounts,
    attendance,
    calendars,
    changes,
    chapters,
    export,
    follows,
    meetups,
    organisers,
    polls,
    recurring,
    rsvp,
    wall,
)
from bot.core.i18n import N_, translator
from bot.core.work import Ctx

Handler = Callable[[Ctx, str], Awaitable[None]]


class Role(StrEnum):
    """Who may use a command; the handlers check it (tests/core/test_commands.py proves it)."""

    ANYONE = "anyone"
    ORGANISER = "organiser"
    ADMIN = "group admin"


@dataclass(frozen=True)
class CommandSpec:
    name: str
    role: Role
    handler: Handler
    example: str  # what to type; a msgid where it holds words people translate
    help: str  # msgid: what it does, in one line
    menu: str | None  # msgid: Telegram's menu line; None: left out of the menu

    @property
    def shown_in_help(self) -> bool:
        return self.name != "help"


async def help_command(ctx: Ctx, args: str) -> None:
    ctx.reply(help_text(ctx.lang))


# Each row: the example (translate the words, keep the command), the /help line, and the line in
# Telegram's command menu.
_TABLE = (
    CommandSpec("start", Role.ANYONE, chapters.start, "/start",
                # TRANSLATORS: the /help lines say what each command does, after its example.
                N_("(in a DM) lets me send you reminders"),
                # TRANSLATORS: Telegram's command menu: a few words for each command.
                N_("Start me in a private chat to get reminders")),
    CommandSpec("help", Role.ANYONE, help_command, "/help",
                N_("every command with an example"),
                N_("What I can do, with examples")),
    CommandSpec("setup", Role.ADMIN, chapters.setup,
                "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl",
                N_("(admins) makes this group a chapter"),
                N_("Make this group a chapter (admins)")),
    CommandSpec("newmeetup", Role.ORGANISER, meetups.new_meetup,
                N_("/newmeetup Tweetup #1; thursday 19:30 | friday 20:00; Verkadefabriek; max 40"),
                N_("(organisers) one date sets the meetup, several open a date poll"),
                N_("Plan a meetup or a date poll")),
    CommandSpec("poll", Role.ORGANISER, polls.new_poll,
                N_("/poll Which venue?; Verkadefabriek | Café de Unie"),
                N_("(organisers) a plain poll"),
                N_("Ask the chapter a question")),
    CommandSpec("vote", Role.ANYONE, polls.vote_command, "/vote 1 3",
                N_("vote in the open poll"), None),
    CommandSpec("closepoll", Role.ORGANISER, polls.close_poll_command, "/closepoll",
                N_("(organisers) closes the open poll now"),
                N_("Close the open poll now")),
    CommandSpec("meetups", Role.ANYONE, meetups.list_meetups, "/meetups",
                N_("upcoming meetups"), N_("Upcoming meetups")),
    CommandSpec("rsvp", Role.ANYONE, rsvp.rsvp_command, N_("/rsvp yes +1"),
                N_("answer for the next meetup: yes, maybe or no, with guests"),
                N_("Say if you come: yes, maybe or no")),
    CommandSpec("who", Role.ANYONE, meetups.who, "/who",
                N_("who is coming, and the waitlist"), N_("Who is coming")),
    CommandSpec("intro", Role.ANYONE, chapters.intro, N_("/intro I make podcasts about cities"),
                N_("(in a DM) your line in /who"), N_("Your one-line introduction")),
    CommandSpec("next", Role.ANYONE, chapters.next_interest, "/next",
                N_("tell me when the next meetup is announced"),
                N_("Tell me when the next one is announced")),
    CommandSpec("follow", Role.ANYONE, follows.follow, "/follow",
                N_("a private message for every new meetup of this chapter"),
                N_("Hear of every new meetup")),
    CommandSpec("unfollow", Role.ANYONE, follows.unfollow, "/unfollow",
                N_("no more messages about new meetups"),
                N_("Stop hearing of new meetups")),
    CommandSpec("remind", Role.ANYONE, chapters.remind, "/remind 1d 2h",
                N_("(in a DM) your reminder times, or /remind off"),
                N_("Your reminder times")),
    CommandSpec("remindvia", Role.ANYONE, accounts.remind_via, "/remindvia telegram",
                N_("(in a DM) where your reminders go: telegram or matrix; the default is "
                   "where you last spoke to me"),
                N_("Where your reminders go")),
    CommandSpec("whoami", Role.ANYONE, accounts.whoami, "/whoami",
                N_("(in a DM) the accounts I know as you, and a code: /whoami CODE on your "
                   "other account joins them; /whoami unlink separates them"),
                N_("Your accounts, and joining another")),
    CommandSpec("language", Role.ANYONE, chapters.language, "/language nl",
                N_("(in a DM) the language I use with you"), N_("Language: nl or en")),
    CommandSpec("ics", Role.ANYONE, meetups.ics, "/ics",
                N_("the next meetup as a calendar file; /ics all for every meetup"),
                N_("The meetup as a calendar file")),
    CommandSpec("calendar", Role.ANYONE, calendars.calendar, "/calendar",
                N_("(in a DM) your own calendar feed of the meetups you said yes or maybe "
                   "to; /calendar reset gives a new address"),
                N_("Subscribe to your meetups")),
    CommandSpec("cancel", Role.ORGANISER, meetups.cancel, "/cancel",
                N_("(organisers) cancels the next meetup and tells everyone"),
                N_("Cancel the meetup (organisers)")),
    CommandSpec("edit", Role.ORGANISER, changes.edit, N_("/edit when friday 20:00"),
                N_("(organisers) changes the next meetup: when, venue, title, max, about, "
                   "ends, link or hashtag; everyone who answered hears it"),
                N_("Change the meetup (organisers)")),
    CommandSpec("recurring", Role.ORGANISER, recurring.recurring,
                N_("/recurring first thursday 19:30"),
                N_("(organisers) the next meetup opens by itself; /recurring off stops it"),
                N_("Repeat meetups by a rule (organisers)")),
    CommandSpec("checkin", Role.ANYONE, attendance.checkin, "/checkin",
                N_("at the meetup: I'm here"), N_("I am here")),
    CommandSpec("stats", Role.ORGANISER, attendance.stats, "/stats",
                N_("(organisers) meetups held, sign-ups, attendance, growth"),
                N_("Chapter statistics (organisers)")),
    CommandSpec("export", Role.ORGANISER, export.export, "/export",
                N_("(organisers) who answered for the next meetup, as a spreadsheet file by "
                   "DM; /export 2 the second upcoming one, /export last the latest held"),
                N_("Who answered, as a file (organisers)")),
    CommandSpec("link", Role.ORGANISER, organisers.link, "/link",
                N_("(organisers) I DM you a code; an admin of another group or room sends "
                   "/link CODE there to join this chapter"),
                N_("Run this chapter in another group too (organisers)")),
    CommandSpec("unlink", Role.ORGANISER, organisers.unlink, "/unlink",
                N_("(organisers) removes this chat from the chapter; /unlink 2 the chat "
                   "numbered 2 in /organisers"),
                N_("Remove a chat from the chapter (organisers)")),
    CommandSpec("organisers", Role.ANYONE, organisers.organisers, "/organisers",
                N_("who organises and why; organisers can /organisers add or remove a name"),
                N_("Who organises this chapter")),
    CommandSpec("wall", Role.ORGANISER, wall.wall_command, "/wall #tweetup73",
                N_("(organisers) opens the live wall for the meetup: posts with its hashtag "
                   "show on a page for the projector; /wall hide 3, /wall ban Name, "
                   "/wall approval on, /wall close"),
                N_("Open the live wall (organisers)")),
)

COMMANDS: dict[str, CommandSpec] = {spec.name: spec for spec in _TABLE}

# Names in a language for the everyday commands (docs/decisions.md): shown in that language's
# /help and command menu, and accepted in every chat (Telegram shows a member the menu of
# their app's language, whatever the chapter's).
ALIASES: dict[str, dict[str, str]] = {
    "nl": {"wie": "who", "stem": "vote", "agenda": "meetups", "aanwezig": "checkin",
           "volgende": "next", "herinner": "remind", "taal": "language", "hulp": "help"},
}
_ALIAS_OF = {alias: name for names in ALIASES.values() for alias, name in names.items()}


def command_named(name: str) -> CommandSpec | None:
    """The command a name (or one of its aliases) stands for."""
    return COMMANDS.get(name) or COMMANDS.get(_ALIAS_OF.get(name, ""))


def _alias_in(language: str, name: str) -> str | None:
    return next((a for a, n in ALIASES.get(language, {}).items() if n == name), None)


def help_text(language: str) -> str:
    _ = translator(language)
    rows = []
    for spec in _TABLE:
        if not spec.shown_in_help:
            continue
        row = f"{_(spec.example)} — {_(spec.help)}"
        if alias := _alias_in(language, spec.name):
            # TRANSLATORS: after a /help line: the command's name in your language.
            row += " " + _("(also /{alias})", alias=alias)
        rows.append(row)
    return _("What I can do:") + "\n" + "\n".join(rows)


def menu(language: str) -> list[tuple[str, str]]:
    """(command, description) for a platform's command menu, in `language`: a command with a
    name in that language is listed by that name."""
    _ = translator(language)
    return [(_alias_in(language, spec.name) or spec.name, _(spec.menu)) for spec in _TABLE
            if spec.menu is not None]


def readme_table() -> str:
    """The README's table of commands (English), generated so it can't drift."""
    lines = ["| command | who | example | what it does |", "| --- | --- | --- | --- |"]
    for spec in _TABLE:
        example = spec.example.replace("|", "\\|")
        lines.append(f"| `/{spec.name}` | {spec.role} | `{example}` | {spec.help} |")
    return "\n".join(lines)
