"""The project's own fake of the Telegram Bot API (see server.py and limits.py)."""

from .limits import FakeLimits, RetryWindow, Window
from .model import BotMessage, CallbackAnswer, Document, FakeChat, FakePoll, FakeUser
from .params import ApiError
from .server import FakeBotAPI, Hold

__all__ = [
    "ApiError",
    "BotMessage",
    "CallbackAnswer",
    "Document",
    "FakeBotAPI",
    "FakeChat",
    "FakeLimits",
    "FakePoll",
    "FakeUser",
    "Hold",
    "RetryWindow",
    "Window",
]
