"""A real headless Chromium driven by selenium, for the pages' browser tests (Debian's
`chromium` and `chromium-driver`). Without them a test skips with the reason, and fails
when IRL_REQUIRE_BROWSER=1 (as .ci/run sets it), like IRL_REQUIRE_POSTGRES.

Selenium's calls block: an async test runs them with `asyncio.to_thread`, so the bot's loop
keeps going while the browser waits."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

REQUIRE_BROWSER = os.environ.get("IRL_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("IRL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("IRL_CHROMEDRIVER", "/usr/bin/chromedriver")


def browser_missing() -> str | None:
    for what, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)) and not shutil.which(path):
            return (f"{what} not found at {path} (apt-get install chromium chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def skip_or_fail_without_browser() -> None:
    reason = browser_missing()
    if reason is None:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"IRL_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Any]:
    skip_or_fail_without_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1600,1000", "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


async def wait_in_browser(driver: Any, condition: Callable[[Any], Any], within: float,
                          what: str = "") -> Any:
    """Wait (in a thread) up to `within` seconds for `condition(driver)` to be truthy."""
    import asyncio

    from selenium.webdriver.support.ui import WebDriverWait

    return await asyncio.to_thread(
        WebDriverWait(driver, within, poll_frequency=0.05).until, condition,
        f"{what} not within {within} s")
