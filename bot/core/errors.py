"""Errors that end a command with a short reply to the person and no change in the database."""

from __future__ import annotations

from bot.core.i18n import PluralMsgid


class UserError(Exception):
    """Bad input or a refused action. `message` is an English msgid for the translator.

    `gettext(language, err.message, **err.values)` (or `_(err.message, **err.values)`)
    translates it, in the right plural form for one made with `UserError.plural`.
    """

    def __init__(self, message: str, /, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.values = values

    @classmethod
    def plural(cls, singular: str, plural: str, n: int, /, **values: object) -> UserError:
        """E.g. `UserError.plural("At most {n} date.", "At most {n} dates.", n)`; `{n}` is
        filled in like the other values."""
        return cls(PluralMsgid(singular, plural, n), **{"n": n, **values})
