"""`irlbot demo` scripts of issue 11's /edit: the must-show scenarios, as an organiser sees
them in the console chat."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from tests.test_demo_cli import TZ, replies_to, run_demo


def test_edit_when_moves_the_meetup_and_its_reminders(tmp_path: Path) -> None:
    start = datetime.now(TZ).replace(second=0, microsecond=0)
    old = start + timedelta(days=3)
    new = start + timedelta(days=5)
    script = f"""alice: /setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en
alice: /newmeetup Borrel; {old:%Y-%m-%d %H:%M}; Verkadefabriek; max 1
bob (dm): /start
carol (dm): /start
dave (dm): /start
bob: /rsvp yes
carol: /rsvp maybe
dave: /rsvp yes
alice: /edit when {new:%Y-%m-%d %H:%M}
:advance 2d1h
:advance 2d
"""
    lines = run_demo(script, tmp_path)
    edited = replies_to(lines, f"alice: /edit when {new:%Y-%m-%d %H:%M}")
    shown_old, shown_new = f"{old:%a %-d %b %Y, %H:%M}", f"{new:%a %-d %b %Y, %H:%M}"
    assert edited[0] == (f"[group] irl: Borrel changed. When: {shown_old} → {shown_new}. "
                         "I've sent it to the 3 people who answered.")
    for name in ("bob", "carol", "dave"):  # yes, maybe and the waitlist
        assert f"[dm {name}] irl: ✏️ Borrel (SMC Den Bosch) has changed." in edited
    assert edited.count(f"    When: {shown_old} → {shown_new}") == 3
    # Around the old time nobody is reminded; a day before the new one bob is.
    quiet = replies_to(lines, ":advance 2d1h")
    assert not [line for line in quiet if "Reminder" in line or "Tomorrow" in line]
    later = replies_to(lines, ":advance 2d")
    assert "[dm bob] irl: Reminder: Borrel starts in 1 day." in later
    assert f"    When: {shown_new}" in later
    assert not any(line.startswith(("[dm dave]", "[dm carol]")) for line in later)


def test_edit_max_up_moves_the_waitlist_up(tmp_path: Path) -> None:
    when = datetime.now(TZ) + timedelta(days=3)
    script = f"""alice: /setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en
alice: /newmeetup Borrel; {when:%Y-%m-%d %H:%M}; Verkadefabriek; max 1
bob (dm): /start
dave (dm): /start
bob: /rsvp yes
dave: /rsvp yes
alice: /edit max 0
alice: /edit max 2
alice: /who
"""
    lines = run_demo(script, tmp_path)
    assert replies_to(lines, "alice: /edit max 0") == [
        "[group] irl: After max, write a number of seats from 1 to 100000."]
    raised = replies_to(lines, "alice: /edit max 2")
    assert raised[0].startswith("[group] irl: Borrel changed. Seats: 1 → 2.")
    assert any(line.startswith("[dm dave] irl: Good news: a seat opened up") for line in raised)
    who = replies_to(lines, "alice: /who")
    assert "    Going (2/2):" in who and "    • dave" in who
