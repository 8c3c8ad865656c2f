"""Errors that end a command with a short reply to the person and no change in the database."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused action. `message` is an English msgid for the translator."""

    def __init__(self, message: str, /, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.values = values
