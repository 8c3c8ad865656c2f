"""The getUpdates connection, keeping each update's JSON as Telegram sent it, for the inbox.

The inbox stores every update as JSON before it is confirmed. Turning python-telegram-bot's
parsed `Update` back into JSON (`Update.to_json`) cost as much CPU as parsing it (in a storm
of poll answers, a quarter of the bot's time); `json.dumps` of the dict PTB parsed is a few
microseconds. `parse_json_payload` is PTB's documented place to change how answers are read.
"""

from __future__ import annotations

import json
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest


class RawUpdatesRequest(HTTPXRequest):
    __slots__ = ("_raw",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._raw: dict[int, str] = {}

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        data: dict[str, Any] = HTTPXRequest.parse_json_payload(payload)
        result = data.get("result")
        if isinstance(result, list):  # only getUpdates goes through this connection
            self._raw = {u["update_id"]: json.dumps(u) for u in result
                         if isinstance(u, dict) and isinstance(u.get("update_id"), int)}
        return data

    def raw_json(self, update: Update) -> str:
        """The update as it came (from the last getUpdates), else serialised again."""
        raw = self._raw.pop(update.update_id, None)
        return raw if raw is not None else update.to_json()
