"""The command table is the one list of commands: it routes, it is /help, and it is the
README's table; and who may use a command is what the table says."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.commands import ALIASES, COMMANDS, Role, help_text, menu, readme_table
from bot.db.session import Database
from tests.fakes import Chat
from tests.helpers import local, snapshot

README = Path(__file__).resolve().parents[2] / "README.md"


async def test_help_lists_every_command_with_its_example_in_the_chats_language(
        chat: Chat) -> None:
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl")
    (answer,) = await chat.say("bob", "/help")
    assert answer.text.startswith("Dit kan ik:")
    lines = answer.text.splitlines()[1:]
    assert len(lines) == len(COMMANDS) - 1  # every command but /help itself
    assert "/newmeetup Tweetup #1; donderdag 19:30 | vrijdag 20:00; Verkadefabriek; max 40" in \
        answer.text
    for name in COMMANDS:
        if name != "help":
            assert any(line.startswith(f"/{name}") for line in lines), name


def test_help_in_english_names_every_command_once() -> None:
    lines = help_text("en").splitlines()[1:]
    assert sorted(line.split()[0] for line in lines) == sorted(
        f"/{name}" for name in COMMANDS if name != "help")


def test_the_menu_has_a_line_for_each_command_members_type() -> None:
    english, dutch = dict(menu("en")), dict(menu("nl"))
    assert set(english) == set(COMMANDS) - {"vote"}  # votes go in the poll
    # The Dutch menu names a command by its Dutch name where it has one.
    assert {ALIASES["nl"].get(name, name) for name in dutch} == set(english)
    assert english["rsvp"] == "Say if you come: yes, maybe or no"
    assert dutch["rsvp"] == "Zeg of je komt: ja, misschien of nee"
    assert dutch["wie"] == "Wie er komt" and "who" not in dutch


def test_the_dutch_names_stand_for_commands_and_take_none_of_their_names() -> None:
    for language, aliases in ALIASES.items():
        assert set(aliases.values()) <= set(COMMANDS), language
        assert not set(aliases) & set(COMMANDS), language
        assert all(re.fullmatch(r"[a-z]{1,32}", alias) for alias in aliases)  # Telegram's rule
        assert 6 <= len(aliases) <= 8


async def test_dutch_names_are_in_the_dutch_help_and_work_in_every_chapter(
        chat: Chat) -> None:
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl")
    (dutch_help,) = await chat.say("bob", "/hulp")
    lines = dutch_help.text.splitlines()
    assert dutch_help.text.startswith("Dit kan ik:")
    assert next(line for line in lines if line.startswith("/who ")).endswith("(ook /wie)")
    assert next(line for line in lines if line.startswith("/vote ")).endswith("(ook /stem)")
    assert sum("(ook /" in line for line in lines) == len(ALIASES["nl"]) - 1  # not /help's
    assert "(also /" not in help_text("en") and "(ook /" not in help_text("en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=5))} | "
                            f"{local(chat, timedelta(days=6))}")
    assert (await chat.say("bob", "/stem 2"))[0].text == "Bob heeft gestemd op 2."
    assert (await chat.say("bob", "/WIE"))[0].text == (await chat.say("bob", "/who"))[0].text
    english = Chat(chat.core, chat.messenger, chat.clock, chat_id="other", admins=["zoe"])
    await english.say("zoe", "/setup SMC Tilburg; Tilburg; Europe/Amsterdam; en")
    (answer,) = await english.say("bob", "/agenda")  # a Dutch app's menu, an English chapter
    assert answer.text == "No meetups planned. Send /next to hear when one is."
    (answer,) = await english.say("bob", "/wat")
    assert answer.text == "I don't know /wat. /help lists what I can do."


def test_the_readme_table_is_the_command_table() -> None:
    readme = README.read_text(encoding="utf-8")
    start = readme.index("| command | who | example | what it does |")
    end = readme.index("<!-- end of commands -->")
    assert readme[start:end].strip() == readme_table(), (
        "README's commands differ from bot/core/commands.py: paste readme_table()")


@pytest.mark.parametrize("name", [n for n, spec in COMMANDS.items()
                                  if spec.role is Role.ORGANISER])
async def test_a_member_cannot_use_an_organisers_command(chat: Chat, db: Database,
                                                         name: str) -> None:
    await chat.say("alice", "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    await chat.say("alice", f"/newmeetup Borrel; {local(chat, timedelta(days=5))}")
    await chat.say("bob", "/help")
    before = await snapshot(db)
    args = {"newmeetup": f" Mine; {local(chat, timedelta(days=9))}",
            "poll": " Where?; Here | There", "recurring": " first thursday 19:30"}
    (answer,) = await chat.say("bob", f"/{name}{args.get(name, '')}")
    assert answer.text == "Only organisers can do that."
    assert await snapshot(db) == before


@pytest.mark.parametrize("name", [n for n, spec in COMMANDS.items() if spec.role is Role.ADMIN])
async def test_only_a_groups_admin_can_use_an_admins_command(chat: Chat, db: Database,
                                                             name: str) -> None:
    await chat.say("bob", "/help")
    before = await snapshot(db)
    (answer,) = await chat.say("bob", f"/{name} SMC Den Bosch; Den Bosch; Europe/Amsterdam; en")
    assert answer.text == "Only the group's admins can set up a chapter."
    assert await snapshot(db) == before
