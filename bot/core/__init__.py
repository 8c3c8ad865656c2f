"""The command core: platform-free, one unit of work per inbound event.

Where things are (each layer imports only the layers below it; `lint-imports` checks this
with the contracts in pyproject.toml):

| layer | module | what it holds |
| --- | --- | --- |
| front door | `app.py` | `Core`: a method per inbound kind, one wrapper: `UserError` -> reply |
| table, due | `commands.py` | `COMMANDS`: name, who, example, help and menu line, handler |
| | `delivery.py` | what is due: claim poll closes and reminders, send them, record the outcome |
| | `housekeeping.py` | `Core.prune`: old outbox, inbox, handled ids and posts deleted in batches |
| features | `meetups.py` | `/newmeetup`, `/meetups`, `/who`, `/cancel`, `/ics` |
| | `unit.py` | `Units`: a transaction and its outbox, sent after the commit; the shutdown deadline |
| | `chapters.py` | `/start`, `/setup`, `/intro`, `/remind`, `/language`, `/next` |
| | `organisers.py` | `/link` (the code by DM), `/unlink`, `/organisers` and co-organisers |
| | `polls.py` | `/poll`, `/vote`, `/closepoll`, date polls, native poll votes, closing a poll |
| | `rsvp.py` | `/rsvp`, buttons and reactions as one `RsvpRequest`; seats, waitlist, promotion |
| | `recurring.py` | `/recurring`: the rule, its dates, opening the next meetup |
| | `attendance.py` | `/checkin`, `/stats` |
| | `nudges.py` | 12 hours before a date poll closes: the count in the group, DMs to who hasn't voted |
| | `follows.py` | `/follow`, `/unfollow` (the DMs go out from `announce.py`) |
| | `export.py` | `/export`: who answered, as a CSV file by DM |
| shared | `announce.py` | describing and announcing a meetup, its calendar file, opening one |
| | `notify.py` | posting to a chapter's chats, DMs, naming who can't be DM'd |
| | `reminders.py` | planning reminder rows and their text |
| | `poll_outcome.py` | the date poll's combined outcome, a line on the meetup's card |
| | `confirm.py` | "really?" before `/cancel`, `/recurring off`, `/unlink`: a button or `yes` |
| reads | `queries.py` | a chat's chapter, its chats, the next meetup, seats, DM targets |
| | `people.py` | the person behind an account, memberships, chat admins seen, language, timezone |
| plumbing | `work.py` | `Services` (ports, settings), `Work` (session, outbox, services, now), `Ctx` |
| | `outbox.py` | what a unit of work sends: a reply lane first, then the rest in order |
| | `details.py`, `syntax.py` | reading a meetup's title, venue and `max N`; a command and its `;` args |
| pure | `rules.py` | tally, winner, waitlist order, reminder times, "still takes answers" |
| | `throttle.py` | commands a member may send in a chat a minute (in memory, bounded) |
| | `dates.py`, `calendar.py` | Dutch and English dates; `.ics` files |
| | `time_of_day.py` | the time of day (`20 uur`, `8pm`, `vrijdagavond 20:00`) for dates and rules |
| | `settings.py`, `ports.py` | `CoreSettings`; the `Messenger` and `Clock` ports |
| words | `i18n.py`, `errors.py` | translation (catalogs in `bot/locales`); `UserError` |
| | `messages.py` | the neutral values adapters and the core exchange |
| | `text.py` | people's text: bounded ASCII numbers, visible text, echo that forms no command |

The database models and their StrEnum statuses are in `bot/db/models.py`.
"""
