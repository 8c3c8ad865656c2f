"""Every text the bot shows people has a Dutch translation, and the core really speaks Dutch.

The msgids come from Babel's extractor, configured as `pybabel extract` is ([tool.babel] in
pyproject.toml): the first argument of `_()`, `t()`, `N_()` and `UserError()`, the second of
`gettext(lang, ...)`, singular and plural of `_.n()` / `UserError.plural()`, context and msgid
of `_.p()`, and the argument of `translator(lang)(...)`. A developer who adds a text without
translating it, or changes one so its Dutch entry no longer matches, makes these tests fail;
docs/translating.md has the commands that bring the catalogs in step.
"""

from __future__ import annotations

import io
import re
import string
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract, extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.pofile import read_po

from bot.core.i18n import SUPPORTED_LANGUAGES, catalog_path, gettext, translator
from bot.i18n_extract import built_at_run_time
from tests.fakes import Chat, RecordingMessenger, Sent

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
METHOD = "bot.i18n_extract:extract"

Key = tuple[str | None, str]  # (msgctxt, msgid); a plural is keyed by its singular


@cache
def babel_config() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        config: dict[str, object] = tomllib.load(f)["tool"]["babel"]
    return config


def keywords() -> dict[str, object]:
    options = babel_config()["extract_messages"]
    assert isinstance(options, dict)
    parsed: dict[str, object] = parse_keywords(options["keywords"])
    return parsed


def comment_tags() -> list[str]:
    options = babel_config()["extract_messages"]
    assert isinstance(options, dict)
    return [options["add_comments"]]


def test_the_config_maps_python_to_our_extractor() -> None:
    extractors = babel_config()["extractors"]
    assert isinstance(extractors, dict)
    assert babel_config()["mappings"] == [{"method": "irl", "pattern": "**.py"}]
    assert extractors["irl"] == METHOD


@dataclass(frozen=True)
class Found:
    key: Key
    plural: str | None
    where: str  # path:line, for the failure message


def extract_source(source: str, filename: str) -> tuple[list[Found], list[str]]:
    """(msgids, problems): a problem is a msgid built at run time that no catalog can hold."""
    found = []
    for lineno, message, _comments, context in extract(
            METHOD, io.BytesIO(source.encode()), keywords(), comment_tags()):
        singular, plural = (message[0], message[1]) if isinstance(message, tuple) else (message, None)
        found.append(Found((context, singular), plural, f"{filename}:{lineno}"))
    return found, built_at_run_time(source, filename, keywords())


@cache
def code_msgids() -> tuple[dict[Key, list[Found]], list[str]]:
    msgids: dict[Key, list[Found]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(BOT), [("**.py", METHOD)], keywords=keywords(), comment_tags=comment_tags()):
        singular, plural = (message[0], message[1]) if isinstance(message, tuple) else (message, None)
        msgids.setdefault((context, singular), []).append(
            Found((context, singular), plural, f"bot/{filename}:{lineno}"))
    problems = []
    for path in sorted(BOT.rglob("*.py")):
        problems += built_at_run_time(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)),
                                      keywords())
    return msgids, problems


@cache
def catalog(language: str) -> Catalog:
    with catalog_path(language).open("rb") as f:
        return read_po(f, locale=language)


def entries(cat: Catalog) -> Iterator[Message]:
    return (m for m in cat if m.id)


def key_of(message: Message) -> Key:
    msgid = message.id[0] if isinstance(message.id, tuple | list) else message.id
    return message.context, msgid


def forms(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def msgid_forms(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


DUTCH = {key_of(m): m for m in entries(catalog("nl"))}


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
_.n("{n} seat", "{n} seats", n)
_.p("button", "Maybe")
UserError.plural("At most {n} date.", "At most {n} dates.", n)
N_("declared")
_("joined " + x)
_.np("count", "{n} maybe", "{n} maybe", n)
'''
    found, problems = extract_source(source, "sample.py")
    assert {f.key for f in found} == {
        (None, "a {x}"), (None, "b"), (None, "c"), (None, "d"), (None, "e {n}"), (None, "f"),
        (None, "g"), (None, "{n} seat"), ("button", "Maybe"), (None, "At most {n} date."),
        (None, "declared"), ("count", "{n} maybe"),
        (None, "joined ")}  # Babel keeps the literal; flagged below
    assert {f.plural for f in found} == {None, "{n} seats", "At most {n} dates.", "{n} maybe"}
    assert [p.split(": ", 1)[0] for p in problems] == ["sample.py:10", "sample.py:15"]


def test_the_core_has_texts_to_translate() -> None:
    msgids, problems = code_msgids()
    assert problems == []
    assert len(msgids) > 50
    assert (None, "Only organisers can do that.") in msgids
    assert (None, "I'll speak English with you from now on.") in msgids  # translator(x)(...)
    assert (None, "Who is coming") in msgids  # the Telegram menu, declared with N_


def test_every_text_has_a_dutch_translation() -> None:
    msgids, _problems = code_msgids()
    missing = [f"{', '.join(f.where for f in found)}: {key[1]!r}"
               for key, found in sorted(msgids.items(), key=str)
               if key not in DUTCH or DUTCH[key].fuzzy or not all(forms(DUTCH[key]))
               or (found[0].plural is not None) != DUTCH[key].pluralizable]
    assert missing == [], ("translate these in bot/locales/nl/LC_MESSAGES/messages.po "
                           "(docs/translating.md):\n" + "\n".join(missing))


def test_no_translation_is_stale() -> None:
    msgids, _problems = code_msgids()
    stale = sorted(set(DUTCH) - set(msgids), key=str)
    assert stale == [], "no longer in the code; run pybabel extract and pybabel update"
    assert not catalog("nl").obsolete, "remove the obsolete (#~) entries from nl's catalog"


@pytest.mark.parametrize("language", ["messages.pot", *SUPPORTED_LANGUAGES])
def test_every_catalog_has_the_code_s_texts(language: str) -> None:
    """The template and each language list the same texts as the code: pybabel extract and
    pybabel update were run (what `.ci/run` checks with `pybabel update --check`)."""
    msgids, _problems = code_msgids()
    if language == "messages.pot":
        with (BOT / "locales" / "messages.pot").open("rb") as f:
            cat = read_po(f)
    else:
        cat = catalog(language)
    assert {key_of(m) for m in entries(cat)} == set(msgids)
    assert {"en", "nl"} <= set(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("msgid", sorted(DUTCH, key=str), ids=str)
def test_translation_keeps_the_placeholders(msgid: Key) -> None:
    message = DUTCH[msgid]
    english = set().union(*(placeholders(text) for text in msgid_forms(message)))
    for dutch in forms(message):
        assert dutch.strip() == dutch and dutch
        assert placeholders_kept(message, dutch)
        dutch.format(**{name: "X" for name in english})  # no KeyError/IndexError/ValueError
    for text in msgid_forms(message):
        text.format(**{name: "X" for name in english})


def placeholders_kept(message: Message, translation: str) -> bool:
    english = set().union(*(placeholders(text) for text in msgid_forms(message)))
    # A plural form may leave out {n}, as in "one seat" for n == 1.
    return placeholders(translation) in (english, english - {"n"} if message.pluralizable else english)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_catalog_keeps_the_placeholders(language: str) -> None:
    """Every language's catalog, so a new one is checked from its first entry."""
    lost = [f"{key_of(m)[1]!r}: {text!r}" for m in entries(catalog(language))
            for text in forms(m) if text and not placeholders_kept(m, text)]
    assert lost == [], f"{language}: placeholders differ from the English in:\n" + "\n".join(lost)


@pytest.mark.parametrize("msgid", sorted(DUTCH, key=str), ids=str)
def test_translation_is_dutch_not_a_copy(msgid: Key) -> None:
    message = DUTCH[msgid]
    for english, dutch in zip(msgid_forms(message), forms(message), strict=False):
        words = re.sub(r"\{[^}]*\}|/\w+", "", english)
        if re.search(r"[A-Za-z]{3,}", words):
            assert dutch != english


@pytest.mark.parametrize("msgid", sorted(DUTCH, key=str), ids=str)
def test_translation_keeps_commands_and_emoji(msgid: Key) -> None:
    message = DUTCH[msgid]
    english = " ".join(msgid_forms(message))
    for dutch in forms(message):
        assert set(re.findall(r"(?<![\w/])/[a-z]+\b", english)) <= set(
            re.findall(r"(?<![\w/])/[a-z]+\b", dutch)), "a /command is missing or translated"
        emoji = {c for c in english if ord(c) > 0x2100 and c not in "“”…—·"}
        assert emoji <= set(dutch)


def test_the_catalog_is_registered() -> None:
    msgid = "Only organisers can do that."
    assert gettext("nl", msgid) == DUTCH[None, msgid].string
    assert gettext("en", msgid) == msgid
    assert translator("nl")(msgid) == gettext("nl", msgid)
    assert gettext("xx", msgid) == msgid  # a language without a catalog falls back to English


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

    await chat.say("alice", "/cancel")
    out = await chat.say("alice", "/cancel ja")
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
