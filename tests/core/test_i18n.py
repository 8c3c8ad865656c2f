"""The translation API: plurals, contexts, UserError.plural, and catalogs found by folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from bot.core import i18n
from bot.core.errors import UserError
from bot.core.i18n import SUPPORTED_LANGUAGES, gettext, languages_in, translator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def german(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A catalog for "de" in a locales folder of its own, the way a translator adds one."""
    cat = Catalog(locale="de", domain="messages")
    cat.add("Maybe", "Kann sein")
    cat.add("Maybe", "Vielleicht", context="button")
    cat.add(("{n} seat", "{n} seats"), ("ein Platz", "{n} Plätze"))
    cat.add(("{n} maybe", "{n} maybe"), ("{n} kommt vielleicht", "{n} kommen vielleicht"),
            context="count")
    cat.add(("{n}/{max} seat taken.", "{n}/{max} seats taken."),
            ("{n} von {max} Platz belegt.", "{n} von {max} Plätzen belegt."))
    cat.add(("At most {n} date, {name}.", "At most {n} dates, {name}."),
            ("Höchstens ein Datum, {name}.", "Höchstens {n} Daten, {name}."))
    cat.add("Untranslated", "")
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.po").open("wb") as f:
        write_po(f, cat)
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    i18n._translations.cache_clear()
    yield tmp_path
    i18n._translations.cache_clear()


def test_plural_and_context_in_a_catalog(german: Path) -> None:
    _ = translator("de")
    assert _.n("{n} seat", "{n} seats", 1) == "ein Platz"
    assert _.n("{n} seat", "{n} seats", 3) == "3 Plätze"
    assert _("Maybe") == "Kann sein"
    assert _.p("button", "Maybe") == "Vielleicht"
    assert _("Untranslated") == "Untranslated"
    assert _.np("count", "{n} maybe", "{n} maybe", 1) == "1 kommt vielleicht"
    assert _.np("count", "{n} maybe", "{n} maybe", 2) == "2 kommen vielleicht"
    # The form follows the count given; a value n= fills the {n} placeholder.
    assert _.n("{n}/{max} seat taken.", "{n}/{max} seats taken.", 1, n=1, max=1) == \
        "1 von 1 Platz belegt."
    assert _.n("{n}/{max} seat taken.", "{n}/{max} seats taken.", 40, n=1, max=40) == \
        "1 von 40 Plätzen belegt."
    assert languages_in(german) == ("de",)


def test_english_plurals_and_contexts_need_no_entries() -> None:
    _ = translator("en")
    assert [_.n("{n} seat", "{n} seats", n) for n in (0, 1, 2)] == ["0 seats", "1 seat", "2 seats"]
    assert _.n("{n} of {max} seat", "{n} of {max} seats", 2, max=40) == "2 of 40 seats"
    assert _.p("button", "Maybe") == "Maybe"
    assert translator("nl").p("a context nl's catalog lacks", "Maybe") == "Maybe"


def test_a_user_error_can_be_plural(german: Path) -> None:
    one = UserError.plural("At most {n} date, {name}.", "At most {n} dates, {name}.", 1, name="Bo")
    many = UserError.plural("At most {n} date, {name}.", "At most {n} dates, {name}.", 5, name="Bo")
    assert many.values == {"n": 5, "name": "Bo"}
    # The core's two ways of translating an error both pick the form.
    assert gettext("en", one.message, **one.values) == "At most 1 date, Bo."
    assert gettext("en", many.message, **many.values) == "At most 5 dates, Bo."
    assert translator("de")(one.message, **one.values) == "Höchstens ein Datum, Bo."
    assert translator("de")(many.message, **many.values) == "Höchstens 5 Daten, Bo."
    assert str(many) == many.message == "At most {n} date, {name}."


def test_a_plain_user_error_is_unchanged() -> None:
    err = UserError("Only organisers can do that.")
    assert (err.message, err.values) == ("Only organisers can do that.", {})
    assert gettext("nl", err.message, **err.values) == "Dat mogen alleen organisatoren."


def test_languages_are_the_catalogs_present() -> None:
    assert SUPPORTED_LANGUAGES == languages_in(ROOT / "bot" / "locales") == ("en", "nl")
    assert repr(translator("nl")) == "Translate('nl')"


def test_the_catalogs_ship_in_the_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'bot = ["locales/messages.pot", "locales/*/LC_MESSAGES/*.po"]' in pyproject
