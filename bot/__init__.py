"""IRL: a Telegram and Matrix bot that runs regional meetup chapters."""

__version__ = "0.1.0"
