"""What `irlbot run` loads at start (issue 14): each platform only its own library, and the
heavy parts only when used: Alembic to migrate, dateparser for the first date read,
icalendar for the first calendar file, the web stack with a [web] section, Babel's catalog
reader for the first text."""

from __future__ import annotations

import subprocess
import sys

import pytest

LOADED_LATER = ["alembic", "dateparser", "icalendar", "prometheus_client", "jinja2", "PIL",
                "segno", "aiohttp.web", "babel.messages"]


def loaded_at_start(adapter: str) -> set[str]:
    """Which of LOADED_LATER and the platform libraries a run on `adapter` has loaded once
    the composition root and the adapter are imported (as `irlbot run` does)."""
    watched = [*LOADED_LATER, "telegram", "nio"]
    code = (f"import sys, bot.__main__, bot.schedule, bot.adapters.{adapter}.runtime\n"
            f"print(' '.join(m for m in {watched!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


@pytest.mark.parametrize(("adapter", "platform"), [("matrix", "nio"), ("telegram", "telegram")])
def test_a_run_loads_its_platform_and_nothing_heavy_it_does_not_use(adapter: str,
                                                                    platform: str) -> None:
    assert loaded_at_start(adapter) == {platform}
