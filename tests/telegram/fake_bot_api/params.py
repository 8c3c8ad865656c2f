"""Reading Bot API parameters the three ways Telegram accepts them.

Query string, `application/x-www-form-urlencoded`, `multipart/form-data` (files) and JSON
bodies are all allowed by the Bot API. In the form encodings, non-string values
(numbers, booleans, objects, arrays) arrive JSON-serialized, which is what
python-telegram-bot sends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web


class ApiError(Exception):
    """An unsuccessful Bot API answer: {"ok": false, "error_code", "description", ...}."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


class Params:
    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    @classmethod
    async def read(cls, request: web.Request) -> Params:
        values: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise bad_request("request body must be a JSON object")
            values.update(body)
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    values[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    values[key] = value
        return cls(values)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def loggable(self) -> dict[str, Any]:
        return {
            k: (f"<file {v.filename}, {len(v.content)} bytes>" if isinstance(v, Upload) else v)
            for k, v in self._values.items()
        }

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def required(self, name: str) -> Any:
        if name not in self._values or self._values[name] in ("", None):
            raise bad_request(f"{name} is empty" if name in self._values else f"{name} required")
        return self._values[name]

    def str(self, name: str, default: str | None = None) -> str | None:
        value = self._values.get(name, default)
        return value if value is None or isinstance(value, str) else json.dumps(value)

    def int(self, name: str, default: int | None = None) -> int | None:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def float(self, name: str, default: float) -> float:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def bool(self, name: str, default: bool) -> bool:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    def json(self, name: str, default: Any = None) -> Any:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def upload(self, name: str) -> Upload | str | None:
        """A file parameter: an uploaded part, `attach://<part>`, or a file_id / URL string."""
        value = self._values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = self._values.get(value.removeprefix("attach://"))
        return value if isinstance(value, Upload | str) else None
