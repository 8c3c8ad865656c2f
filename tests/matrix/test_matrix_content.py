"""The pure parts: command text, poll contents and responses, reactions, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.matrix import MatrixSettings
from bot.adapters.matrix.content import (
    bang_commands,
    command_text,
    poll_selections,
    poll_start_content,
    reaction_answer,
    render_buttons,
    selection_indexes,
    strip_reply_fallback,
)
from bot.adapters.matrix.rooms import RoomState, creators_outrank
from bot.config import load_config
from bot.core.messages import Button, RsvpAnswer


@pytest.mark.parametrize(("body", "text"), [
    ("!newmeetup Borrel; vrijdag 20:00", "/newmeetup Borrel; vrijdag 20:00"),
    ("  !rsvp yes +1", "/rsvp yes +1"),
    ("/who", "/who"),
    ("!!! wow", "!!! wow"),
    ("! rsvp", "! rsvp"),
    ("hello !who", "hello !who"),
])
def test_command_text(body: str, text: str) -> None:
    assert command_text(body) == text


def test_reply_fallback_is_dropped() -> None:
    assert strip_reply_fallback("> <@a:x> New meetup\n> more\n\n!rsvp yes") == "!rsvp yes"
    assert strip_reply_fallback("!rsvp yes") == "!rsvp yes"


def test_outgoing_commands_become_bang() -> None:
    assert bang_commands("Send /next, or /rsvp yes (/who)") == "Send !next, or !rsvp yes (!who)"
    assert bang_commands("and/or 12/03 https://x.org/abc") == "and/or 12/03 https://x.org/abc"


def test_poll_start_content_single_and_multiple() -> None:
    multi = poll_start_content("When?", ["Thu", "Fri", "Sat"], multiple=True)
    block = multi["org.matrix.msc3381.poll.start"]
    assert block["max_selections"] == 3
    assert [a["id"] for a in block["answers"]] == ["1", "2", "3"]
    assert multi["org.matrix.msc1767.text"] == "When?\n1. Thu\n2. Fri\n3. Sat"
    single = poll_start_content("Where?", ["A", "B"], multiple=False)
    assert single["org.matrix.msc3381.poll.start"]["max_selections"] == 1
    # A title with "@room" in it pings nobody (intentional mentions: the poll mentions no one).
    assert poll_start_content("@room party?", ["A"], multiple=False)["m.mentions"] == {}


def test_poll_responses_in_both_forms() -> None:
    unstable = {"org.matrix.msc3381.poll.response": {"answers": ["2", "1"]}}
    assert poll_selections("org.matrix.msc3381.poll.response", unstable) == ["2", "1"]
    assert poll_selections("m.poll.response", {"m.selections": ["1"]}) == ["1"]
    assert poll_selections("m.room.message", {}) is None
    assert poll_selections("m.poll.response", {"m.selections": "junk"}) == []


def test_selection_indexes_cap_then_spoil_unknown() -> None:
    # MSC3381: cut to max_selections; any unknown id then spoils the vote; repeats count once.
    assert selection_indexes(["2", "2", "1"], options=3, max_selections=3) == (1, 0)
    assert selection_indexes(["2", "9", "x", "2", "1"], options=3, max_selections=3) == ()
    assert selection_indexes(["3", "9"], options=3, max_selections=1) == (2,)
    assert selection_indexes(["9", "1"], options=3, max_selections=1) == ()
    assert selection_indexes(["0", "-1"], options=3, max_selections=3) == ()


@pytest.mark.parametrize(("key", "answer"), [
    ("✅", RsvpAnswer.YES), ("✔️", RsvpAnswer.YES), ("🤔", RsvpAnswer.MAYBE),
    ("❌", RsvpAnswer.NO), ("❎", RsvpAnswer.NO), ("👍", None), ("🎉", None),
])
def test_reaction_answers(key: str, answer: RsvpAnswer | None) -> None:
    assert reaction_answer(key) == answer


def test_buttons_become_reaction_hints() -> None:
    text, keys = render_buttons("Borrel", [
        Button("Going", "rsvp:3:yes"), Button("🤔 Misschien", "rsvp:3:maybe"),
        Button("Can't", "rsvp:3:no"),
    ])
    assert text == "Borrel\n\n✅ Going  🤔 Misschien  ❌ Can't"
    assert keys == ["✅", "🤔", "❌"]
    assert render_buttons("Plain", []) == ("Plain", [])


def test_room_v12_creators_outrank_power_levels() -> None:
    room = RoomState()
    room.apply({"type": "m.room.create", "sender": "@alice:x", "state_key": "",
                "content": {"room_version": "12", "additional_creators": ["@ann:x"]}})
    room.apply({"type": "m.room.power_levels", "state_key": "",
                "content": {"users": {"@carol:x": 50}, "users_default": 0}})
    assert room.power_level("@alice:x") > 100
    assert room.power_level("@ann:x") > 100
    assert room.power_level("@carol:x") == 50
    assert room.power_level("@bob:x") == 0
    old = RoomState()
    old.apply({"type": "m.room.create", "sender": "@alice:x", "state_key": "",
               "content": {"room_version": "10"}})
    old.apply({"type": "m.room.power_levels", "state_key": "",
               "content": {"users": {"@alice:x": 0}}})
    assert old.power_level("@alice:x") == 0  # before v12 the power levels are the whole story
    assert creators_outrank("12") and creators_outrank("org.matrix.hydra.11")
    assert not creators_outrank("11")


def test_settings_from_the_config_section(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IRL_MATRIX_PASSWORD", raising=False)
    monkeypatch.delenv("IRL_MATRIX_ACCESS_TOKEN", raising=False)

    def matrix_section(text: str) -> MatrixSettings | None:
        path = tmp_path / "config.toml"
        path.write_text("[matrix]\n" + text)
        return load_config(path).matrix

    s = matrix_section('homeserver = "https://m.example.org"\nuser_id = "@irl:example.org"\n'
                       'password = "pw"\ndm_invite_timeout = "2m"\n'
                       'allowed_inviters = ["example.org"]\n')
    assert s is not None
    assert s.password == "pw" and s.access_token is None
    assert s.dm_invite_timeout_s == 120 and s.allowed_inviters == ("example.org",)
    with pytest.raises(ValueError):
        matrix_section('homeserver = "https://m"\nuser_id = "@irl:m"\n')
    s = matrix_section('homeserver = "https://h"\nuser_id = "@a:b"\naccess_token = "t"\n'
                       'allowed_inviters = ["b"]\n')
    assert s is not None and s.allowed_inviters == ("b",)
