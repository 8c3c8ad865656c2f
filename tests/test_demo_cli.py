"""`irlbot demo` with a piped script: the must-show scenario of issue 2, as a newcomer sees it."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/Amsterdam")


def run_demo(script: str, tmp_path: Path) -> list[str]:
    db = tmp_path / "demo.db"
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--db", str(db)], input=script, text=True,
        capture_output=True, timeout=120, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def replies_to(lines: list[str], command: str) -> list[str]:
    """The bot's lines after the input line `> command`, up to the next input."""
    start = lines.index(f"> {command}")
    out = []
    for line in lines[start + 1:]:
        if line.startswith("> ") or line.startswith("-- "):
            break
        out.append(line)
    return out


def test_whole_meetup_in_the_console(tmp_path: Path) -> None:
    start = datetime.now(TZ)
    d1 = (start + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")
    d2 = (start + timedelta(days=6)).strftime("%Y-%m-%d %H:%M")
    script = f"""alice: /setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en
alice: /newmeetup Tweetup #1; {d1} | {d2}; Verkadefabriek; max 2
bob: /vote 1
carol: /vote 1 2
dave: /vote 2
:advance 49h
bob (dm): /start
dave (dm): /start
bob: /rsvp yes
carol: /rsvp yes
dave: /rsvp yes
carol: /rsvp no
bob: /cancel
alice: /who
:advance 2d
"""
    lines = run_demo(script, tmp_path)
    text = "\n".join(lines)
    shown_d1 = datetime.strptime(d1, "%Y-%m-%d %H:%M").strftime("%a %-d %b %Y, %H:%M")

    closed = [i for i, line in enumerate(lines) if "The poll is closed" in line]
    assert len(closed) == 1
    assert f"Tweetup #1 is on {shown_d1}." in lines[closed[0]]
    assert lines.index("> :advance 49h") < closed[0] < lines.index("> bob (dm): /start")

    assert any("dave is on the waitlist, position 1" in line
               for line in replies_to(lines, "dave: /rsvp yes"))
    promoted = replies_to(lines, "carol: /rsvp no")
    assert any(line.startswith("[dm dave] irl: Good news: a seat opened up") for line in promoted)
    assert replies_to(lines, "bob: /cancel") == ["[group] irl: Only organisers can do that."]
    who = "\n".join(replies_to(lines, "alice: /who"))
    assert re.search(r"Going \(2/2\):\n    • bob\n    • dave$", who)

    after = lines[lines.index("> alice: /who"):]
    reminders = [line for line in after if "Reminder: Tweetup #1 starts in 1 day." in line]
    assert sorted(reminders) == ["[dm bob] irl: Reminder: Tweetup #1 starts in 1 day.",
                                 "[dm dave] irl: Reminder: Tweetup #1 starts in 1 day."]
    assert sum(1 for line in after if line.startswith("[group] irl: Tomorrow: Tweetup #1")) == 1
    ics = [line.split("📎 ")[1] for line in after if "📎" in line]
    assert len(ics) == 2 and all(Path(p).read_bytes().startswith(b"BEGIN:VCALENDAR") for p in ics)
    assert "Traceback" not in text


def test_bad_input_in_the_console_leaves_no_trace(tmp_path: Path) -> None:
    start = datetime.now(TZ)
    d1 = (start + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")
    script = f"""alice: /setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en
alice: /newmeetup X; yesterday 19:00
alice: /newmeetup X; the day after never
alice: /newmeetup {"T" * 5000}; {d1}
bob: /vote 7
"""
    lines = run_demo(script, tmp_path)
    assert "is in the past: I read it as" in replies_to(lines, "alice: /newmeetup X; yesterday 19:00")[0]
    assert "I can't read" in replies_to(lines, "alice: /newmeetup X; the day after never")[0]
    assert "5000 characters long" in "\n".join(lines)
    assert replies_to(lines, "bob: /vote 7") == ["[group] irl: There is no open poll right now."]
    con = sqlite3.connect(tmp_path / "demo.db")
    for table in ("meetups", "polls", "poll_options", "votes", "reminders", "posted_messages"):
        assert con.execute(f"select count(*) from {table}").fetchone() == (0,), table


def test_bob_follows_and_hears_of_the_next_meetup(tmp_path: Path) -> None:
    when = (datetime.now(TZ) + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")
    script = f"""alice: /setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en
bob (dm): /start
bob: /follow
alice: /newmeetup Tweetup #2; {when}; Verkadefabriek
bob: /unfollow
alice: /newmeetup Tweetup #3; {when}; Verkadefabriek
"""
    lines = run_demo(script, tmp_path)
    assert replies_to(lines, "bob: /follow")[0].startswith(
        "[group] irl: bob, you now follow SMC Den Bosch")
    shown = datetime.strptime(when, "%Y-%m-%d %H:%M").strftime("%a %-d %b %Y, %H:%M")
    told = replies_to(lines, f"alice: /newmeetup Tweetup #2; {when}; Verkadefabriek")
    at = told.index(f"[dm bob] irl: SMC Den Bosch has a new meetup: Tweetup #2 — {shown}, "
                    "Verkadefabriek")
    assert told[at + 1:at + 3] == [
        "    Coming? Answer below. /unfollow stops these messages.",
        "    [✅ Going] [🤔 Maybe] [❌ Can't]"]
    after = replies_to(lines, f"alice: /newmeetup Tweetup #3; {when}; Verkadefabriek")
    assert not any(line.startswith("[dm bob]") for line in after)


def test_whoami_joins_a_group_and_a_room_account_and_the_head_count_drops_by_one(
        tmp_path: Path) -> None:
    """The must-show of issue 11: the room (the Matrix-like side) is linked to the chapter with
    /link, bob answers yes in both chats, then joins his two accounts with /whoami."""
    d1 = (datetime.now(TZ) + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")
    script = f"""alice: /setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en
alice (dm): /start
alice: /link
mia (room): /link $CODE
alice: /newmeetup Tweetup #1; {d1}; Verkadefabriek; max 10
bob: /rsvp yes
bob (room): /rsvp yes
alice: /who
bob: /whoami
bob (dm): /whoami
bob (room dm): /whoami $CODE
bob (room): /who
"""
    lines = run_demo(script, tmp_path)
    assert any(line.startswith("[room] irl: 🔗") and "now part of SMC Den Bosch" in line
               for line in replies_to(lines, "mia (room): /link $CODE"))
    assert replies_to(lines, "bob (room): /rsvp yes") == [
        "[room] irl: bob is going to Tweetup #1. 2/10 seats taken."]
    before = "\n".join(replies_to(lines, "alice: /who"))
    assert "Going (2/10):\n    • bob\n    • bob" in before
    assert replies_to(lines, "bob: /whoami") == ["[group] irl: Send this to me in a private chat."]
    shown = replies_to(lines, "bob (dm): /whoami")
    assert shown[:2] == ["[dm bob] irl: I know you as:", "    • console: bob"]
    joined = "\n".join(replies_to(lines, "bob (room dm): /whoami $CODE"))
    assert joined.startswith("[room dm bob] irl: Done: these accounts are one person now")
    assert "Tweetup #1: both accounts had answered (yes and yes); I kept yes." in joined
    after = "\n".join(replies_to(lines, "bob (room): /who"))
    assert after.startswith("[room] irl: Tweetup #1")
    assert "Going (1/10):\n    • bob\n" in after + "\n" and after.count("• bob") == 1
    assert "Traceback" not in "\n".join(lines)
