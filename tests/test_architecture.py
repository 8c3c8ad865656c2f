"""The core knows no platform: nothing under bot/core or bot/db imports one."""

from __future__ import annotations

import ast
from pathlib import Path

PLATFORM_LIBRARIES = {"telegram", "nio", "aiohttp", "bot.adapters", "apscheduler"}
ROOT = Path(__file__).resolve().parent.parent / "bot"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_and_db_import_no_platform_library() -> None:
    files = sorted((ROOT / "core").rglob("*.py")) + sorted((ROOT / "db").rglob("*.py"))
    assert len(files) > 8
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files for name in imported_modules(path)
        if any(name == lib or name.startswith(lib + ".") for lib in PLATFORM_LIBRARIES)
    }
    assert offenders == set()


def test_the_check_would_catch_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from telegram import Bot\nimport nio\n")
    assert {"telegram", "nio"} <= imported_modules(bad)
