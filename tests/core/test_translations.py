"""Every text the core shows people has a Dutch translation, and the core really speaks Dutch.

The extraction walks bot/core with `ast` and collects each msgid: the string literal that is
the first argument of `_()`, `t()`, `UserError()` and `translator(lang)()`, or the second
argument of `gettext(lang, ...)`. A developer who adds a text without translating it, or
changes one so its Dutch entry no longer matches, makes these tests fail.
"""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.i18n import gettext
from bot.core.locales.nl import CATALOG
from tests.fakes import Chat, RecordingMessenger, Sent

CORE = Path(__file__).resolve().parents[2] / "bot" / "core"

TRANSLATE_FIRST_ARG = {"_", "t", "UserError", "N_"}  # f(msgid, **values)
TRANSLATE_SECOND_ARG = {"gettext"}  # gettext(language, msgid, **values)


@dataclass(frozen=True)
class Found:
    msgid: str
    where: str  # path:line, for the failure message


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _msgid_argument(call: ast.Call) -> ast.expr | None:
    """The argument of `call` that holds a msgid, if `call` is a translation call."""
    name = _called_name(call.func)
    if isinstance(call.func, ast.Call) and _called_name(call.func.func) == "translator":
        index = 0  # translator(language)("...")
    elif name in TRANSLATE_FIRST_ARG:
        index = 0
    elif name in TRANSLATE_SECOND_ARG:
        index = 1
    else:
        return None
    return call.args[index] if len(call.args) > index else None


def extract(source: str, filename: str) -> tuple[list[Found], list[str]]:
    """(msgids, problems): a problem is a msgid built at run time that no catalog can hold."""
    found: list[Found] = []
    problems: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        arg = _msgid_argument(node)
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.append(Found(arg.value, where))
        elif isinstance(arg, ast.JoinedStr | ast.BinOp):
            problems.append(f"{where}: the text is built at run time (f-string or +); "
                            "pass the changing parts as {placeholders} instead")
    return found, problems


def core_msgids() -> tuple[dict[str, list[str]], list[str]]:
    msgids: dict[str, list[str]] = {}
    problems: list[str] = []
    files = sorted(CORE.rglob("*.py"))
    for path in files:
        if "locales" in path.relative_to(CORE).parts:
            continue
        found, bad = extract(path.read_text(encoding="utf-8"), str(path.relative_to(CORE.parent)))
        problems += bad
        for item in found:
            msgids.setdefault(item.msgid, []).append(item.where)
    return msgids, problems


def placeholders(text: str) -> set[str]:
    """The `{name}` fields of a str.format text (ValueError when its braces are broken)."""
    names = set()
    for _literal, field, _spec, _conversion in string.Formatter().parse(text):
        if field is not None:
            names.add(re.split(r"[.\[]", field, maxsplit=1)[0])
    return names


# --- the catalog against the code ------------------------------------------------------------

def test_extraction_finds_every_kind_of_call() -> None:
    source = '''
_("a {x}", x=1)
ctx._("b")
t("c")
gettext(lang, "d")
UserError("e {n}", n=2)
errors.UserError("f")
translator(lang)("g")
_(err.message, **err.values)
_(f"h {x}")
'''
    found, problems = extract(source, "sample.py")
    assert {f.msgid for f in found} == {"a {x}", "b", "c", "d", "e {n}", "f", "g"}
    assert len(problems) == 1 and "sample.py:10" in problems[0]


def test_the_core_has_texts_to_translate() -> None:
    msgids, problems = core_msgids()
    assert problems == []
    assert len(msgids) > 50
    assert "Only organisers can do that." in msgids


def test_every_text_has_a_dutch_translation() -> None:
    msgids, _problems = core_msgids()
    missing = [f"{', '.join(where)}: {msgid!r}" for msgid, where in sorted(msgids.items())
               if msgid not in CATALOG]
    assert missing == [], "add these to bot/core/locales/nl.py:\n" + "\n".join(missing)


def test_no_translation_is_stale() -> None:
    msgids, _problems = core_msgids()
    stale = sorted(set(CATALOG) - set(msgids))
    assert stale == [], "no longer in the code; update or remove in bot/core/locales/nl.py"


@pytest.mark.parametrize("msgid", sorted(CATALOG))
def test_translation_keeps_the_placeholders(msgid: str) -> None:
    dutch = CATALOG[msgid]
    assert dutch.strip() == dutch and dutch
    assert placeholders(dutch) == placeholders(msgid)
    values = {name: "X" for name in placeholders(msgid)}
    dutch.format(**values)  # formats without KeyError/IndexError/ValueError


@pytest.mark.parametrize("msgid", sorted(CATALOG))
def test_translation_is_dutch_not_a_copy(msgid: str) -> None:
    words = re.sub(r"\{[^}]*\}|/\w+", "", msgid)
    if re.search(r"[A-Za-z]{3,}", words):
        assert CATALOG[msgid] != msgid


@pytest.mark.parametrize("msgid", sorted(CATALOG))
def test_translation_keeps_commands_and_emoji(msgid: str) -> None:
    dutch = CATALOG[msgid]
    assert set(re.findall(r"(?<![\w/])/[a-z]+\b", msgid)) <= set(
        re.findall(r"(?<![\w/])/[a-z]+\b", dutch)), "a /command is missing or translated"
    emoji = {c for c in msgid if ord(c) > 0x2100 and c not in "“”…—·"}
    assert emoji <= set(dutch)


def test_the_catalog_is_registered() -> None:
    msgid = "Only organisers can do that."
    assert gettext("nl", msgid) == CATALOG[msgid]
    assert gettext("en", msgid) == msgid


# --- the core, driven in Dutch ---------------------------------------------------------------
# The clock starts on Thursday 26 November 2026, 13:00 in Den Bosch (tests/conftest.py), so
# "donderdag 19:30" is Thursday 3 December, which Babel writes as "do 3 dec 2026, 19:30".

SETUP_NL = "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl"


def texts(sent: list[Sent]) -> list[str]:
    return [s.text for s in sent if s.kind in ("text", "dm", "file")]


async def test_a_dutch_chapter_hears_dutch(chat: Chat, messenger: RecordingMessenger) -> None:
    setup = texts(await chat.say("alice", SETUP_NL))
    assert setup == ["Deze chat is nu de afdeling SMC Den Bosch (Den Bosch, Europe/Amsterdam). "
                     "Organisatoren kunnen beginnen met /newmeetup; iedereen kan me /start "
                     "sturen in een privéchat om herinneringen te krijgen."]
    assert texts(await chat.say("bob", "/help"))[0].startswith("Dit kan ik:\n")

    out = await chat.say("alice", "/newmeetup Borrel; donderdag 19:30; Verkadefabriek; max 2")
    post = next(s for s in out if s.kind == "text")
    assert post.text.splitlines() == [
        "Nieuwe meetup!",
        "📅 Borrel — do 3 dec 2026, 19:30, Verkadefabriek",
        "0/2 erbij · 0 misschien",
        "Kom je? Antwoord met ✅ 🤔 ❌ hieronder, of stuur /rsvp ja (met gasten: /rsvp ja +1).",
    ]
    assert [b.label for b in post.buttons] == ["✅ Ik kom", "🤔 Misschien", "❌ Kan niet"]

    for name in ("bob", "dave"):
        await chat.dm(name, "/start")
    assert texts(await chat.say("bob", "/rsvp ja")) == [
        "Bob komt naar Borrel. 1 van de 2 plekken bezet."]
    assert texts(await chat.say("carol", "/rsvp misschien")) == [
        "Carol komt misschien naar Borrel."]
    assert texts(await chat.say("dave", "/rsvp ja +1")) == [
        "Borrel zit vol: Dave staat op de wachtlijst, als nummer 1. "
        "Je krijgt een DM zodra er een plek vrijkomt."]
    toast = await chat.press("erin", post.buttons[2].payload)
    assert toast.accepted and toast.text == "Erin kan niet naar Borrel komen."
    assert "1/2 erbij · 1 misschien · 1 op de wachtlijst" in [
        s for s in messenger.sent if s.kind == "edit"][-1].text

    assert texts(await chat.say("alice", "/who")) == ["\n".join([
        "Borrel — do 3 dec 2026, 19:30, Verkadefabriek",
        "Erbij (1/2):", "• Bob",
        "Misschien:", "• Carol",
        "Wachtlijst:", "1. Dave (+1)",
    ])]

    # Bad input: Dutch words, and the date shown the way the bot read it, in Dutch.
    assert texts(await chat.say("alice", "/newmeetup X; gisteren 19:00")) == [
        "“gisteren 19:00” ligt in het verleden: ik lees het als wo 25 nov 2026, 19:00."]
    assert texts(await chat.say("alice", "/newmeetup X; vrijdag")) == [
        "Bij “vrijdag” staat geen tijd; ik lees het als vr 27 nov 2026, 00:00. "
        "Zet er een tijd bij, zoals: vrijdag 19:30"]
    assert "Ik kan “flurb” niet als datum" in texts(await chat.say("alice", "/newmeetup X; flurb"))[0]
    assert texts(await chat.say("bob", "/rsvp graag")) == [
        "Schrijf het zo: /rsvp ja, /rsvp misschien, /rsvp nee of /rsvp ja +2"]
    assert texts(await chat.say("bob", "/cancel")) == ["Dat mogen alleen organisatoren."]
    assert texts(await chat.say("bob", "/frobnicate")) == [
        "/frobnicate ken ik niet. Met /help zie je wat ik kan."]

    # A reminder the day before: Dutch words, a Dutch date, Babel's Dutch duration.
    out = await chat.advance(timedelta(days=6, hours=7))  # Wednesday 20:00
    reminder = next(s.text for s in out if s.kind == "dm" and s.to == "bob")
    assert reminder.splitlines() == [
        "Herinnering: Borrel begint over 1 dag.",
        "Wanneer: do 3 dec 2026, 19:30",
        "Waar: Verkadefabriek",
        "Afdeling: SMC Den Bosch",
        "Kun je toch niet? Stuur /rsvp nee in de groep, dan krijgt iemand van de wachtlijst "
        "je plek.",
    ]
    assert [s.text for s in out if s.kind == "text"] == [
        "Morgen: Borrel, do 3 dec 2026, 19:30, Verkadefabriek. Kom je? /rsvp ja — "
        "wie komen er? /who"]

    # Bob drops out: Dave's group of two moves up and hears it in Dutch.
    out = await chat.say("bob", "/rsvp nee")
    assert [s.text for s in out if s.kind == "text"] == ["Bob kan niet naar Borrel komen."]
    promoted = [s.text for s in out if s.kind == "dm" and s.to == "dave"]
    assert promoted == ["Goed nieuws: er is een plek vrijgekomen. Je gaat naar Borrel — "
                        "do 3 dec 2026, 19:30, Verkadefabriek. Kun je toch niet? "
                        "Stuur /rsvp nee in de groep."]

    out = await chat.say("alice", "/cancel")
    assert "❌ Borrel gaat niet door." in texts(out)
    assert "Helaas: Borrel (SMC Den Bosch) gaat niet door." in [
        s.text for s in out if s.kind == "dm" and s.to == "dave"]


async def test_a_dutch_date_poll(chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", SETUP_NL)
    out = await chat.say("alice", "/newmeetup Tweetup #1; donderdag 19:30 | vrijdag 4 december 20:00")
    intro = next(s.text for s in out if s.kind == "text")
    assert intro == ("Nieuwe meetup: Tweetup #1. Stem op elke datum waarop je kunt; "
                     "de poll sluit op za 28 nov 2026, 13:00.")
    poll = next(s for s in out if s.kind == "poll")
    assert poll.text == "Tweetup #1: wanneer kun je?"
    assert poll.options == ("do 3 dec 2026, 19:30", "vr 4 dec 2026, 20:00")

    assert texts(await chat.say("bob", "/vote 2")) == ["Bob heeft gestemd op 2."]
    assert texts(await chat.say("bob", "/vote 7")) == ["Deze poll heeft opties 1 tot en met 2."]
    assert texts(await chat.say("bob", "/rsvp ja")) == [
        "Over de datum van Tweetup #1 wordt nog gestemd; aanmelden kan zodra de poll sluit."]
    assert texts(await chat.say("bob", "/meetups")) == [
        "Komende meetups:\n• Tweetup #1 — er wordt nog over de datum gestemd"]

    closed = texts(await chat.say("alice", "/closepoll"))[0].splitlines()
    assert closed[:5] == [
        "De poll is gesloten: Tweetup #1 is op vr 4 dec 2026, 20:00.",
        "1. do 3 dec 2026, 19:30: 0",
        "2. vr 4 dec 2026, 20:00: 1",
        "Op deze datum gestemd? Dan sta je op misschien tot je zelf antwoordt.",
        "📅 Tweetup #1 — vr 4 dec 2026, 20:00",
    ]
    assert texts(await chat.say("bob", "/vote 1")) == ["Er loopt nu geen poll."]


async def test_a_person_can_choose_dutch_in_a_dm(chat: Chat, messenger: RecordingMessenger) -> None:
    await chat.say("alice", "/setup SMC Eindhoven; Eindhoven; Europe/Amsterdam; en")
    assert texts(await chat.dm("bob", "/language nl")) == ["Vanaf nu praat ik Nederlands met je."]
    assert texts(await chat.dm("bob", "/remind 1d 2h")) == [
        "Ik herinner je aan elke meetup waar je heen gaat: 1 dag en 2 uur van tevoren."]
    assert texts(await chat.dm("bob", "/remind uit")) == [
        "Je krijgt geen herinneringen meer. Met /remind 1d 2h zet je ze weer aan."]
    assert texts(await chat.dm("bob", "/intro")) == [
        "Je intro: (nog niet ingevuld)\nPas hem aan met /intro <één regel over jezelf>."]
    assert texts(await chat.dm("bob", "/language en")) == ["I'll speak English with you from now on."]
