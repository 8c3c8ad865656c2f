"""The live wall's keys in `[web]`: the word blocklist and the photo folder; a mistake names
the key. And the demo: a group line carrying the wall's hashtag goes to the wall."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from tests.web.conftest import free_port


def test_the_blocklist_and_the_photo_folder(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[web]\nlisten = "127.0.0.1:8081"\nwall_blocklist = ["Casino", " spam "]\n'
                    'photo_dir = "/var/lib/irl/photos"\n')
    web = load_config(path).web
    assert web is not None
    assert web.wall_blocklist == ("casino", "spam")
    assert web.photo_dir == Path("/var/lib/irl/photos")


@pytest.mark.parametrize("text", ['wall_blocklist = "casino"\n', "wall_blocklist = [1]\n",
                                  'wall_blocklist = [""]\n'])
def test_a_bad_blocklist_names_the_key(text: str, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[web]\n" + text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "[web] wall_blocklist"


def test_the_demo_puts_hashtag_lines_on_the_wall(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--db", str(tmp_path / "demo.db"),
         "--web", f"127.0.0.1:{port}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("alice: /setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en\n"
                     "alice: /newmeetup Tweetup #73; tomorrow 19:30; Verkadefabriek\n"
                     "alice: /wall\n"
                     "bob: #tweetup73 <b>hello</b> from the console\n"
                     "bob: just chatting about #tweetup74\n")
    proc.stdin.close()
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if match := re.search(rf"(http://127\.0\.0\.1:{port}/w/[\w-]+)", line):
                url = match.group(1)
        assert url, "no wall address in the demo's output"
        html = ""
        while time.monotonic() < deadline and "from the console" not in html:
            with urllib.request.urlopen(url, timeout=10) as resp:
                html = resp.read().decode()
            time.sleep(0.1)
        assert "&lt;b&gt;hello&lt;/b&gt; from the console" in html
        assert "#tweetup74" not in html
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
