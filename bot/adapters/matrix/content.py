"""Event contents in and out: commands, MSC3381 polls, RSVP reactions. Pure functions."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.messages import Button, RsvpAnswer

POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
POLL_END = "org.matrix.msc3381.poll.end"
STABLE_POLL_RESPONSE = "m.poll.response"
POLL_RESPONSE_TYPES = frozenset({POLL_RESPONSE, STABLE_POLL_RESPONSE})
POLL_END_TYPES = frozenset({POLL_END, "m.poll.end"})
POLL_KIND_DISCLOSED = "org.matrix.msc3381.poll.disclosed"
MSC1767_TEXT = "org.matrix.msc1767.text"

_COMMAND = re.compile(r"^\s*!(?=[A-Za-z])")
# "/name" as the core writes it in replies and help, where a command can start: Element
# users type "!name" (Element keeps "/" for itself). Not "and/or", dates or URLs.
_SLASH_COMMAND = re.compile(r"(?<![^\s(\"'“‘])/(?=[a-z]{2,}\b(?!/))")

# The three reactions the bot offers; the others are look-alikes meaning the same. (No 👍:
# under an announcement it often just means "nice".)
RSVP_REACTIONS: dict[RsvpAnswer, str] = {
    RsvpAnswer.YES: "✅",
    RsvpAnswer.MAYBE: "🤔",
    RsvpAnswer.NO: "❌",
}
_REACTION_ANSWERS: dict[str, RsvpAnswer] = {
    "✅": RsvpAnswer.YES, "✔": RsvpAnswer.YES, "☑": RsvpAnswer.YES,
    "🤔": RsvpAnswer.MAYBE, "❓": RsvpAnswer.MAYBE,
    "❌": RsvpAnswer.NO, "✖": RsvpAnswer.NO, "❎": RsvpAnswer.NO,
}


# A whole event may take 65,536 bytes (the spec's limit, counted on the event as sent over
# federation, with its hashes and signatures): a message body is kept to half of that.
MAX_BODY_BYTES = 32_000


def _json_bytes(text: str) -> int:
    """What `text` costs inside the event's JSON: UTF-8, with quotes and controls escaped."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def split_body(text: str, limit: int = MAX_BODY_BYTES) -> list[str]:
    """Messages of at most `limit` bytes each, cut at line ends; a longer line is cut where
    it must (never inside a character)."""
    if _json_bytes(text) <= limit:
        return [text]
    pieces: list[str] = []
    current, used = "", 0
    for line in text.splitlines(keepends=True):
        cost = _json_bytes(line)
        if used + cost > limit and current:
            pieces.append(current)
            current, used = "", 0
        while cost > limit:
            cut, spent = 0, 0
            for ch in line:
                spent += _json_bytes(ch)
                if spent > limit:
                    break
                cut += 1
            pieces.append(line[:cut])
            line = line[cut:]
            cost = _json_bytes(line)
        current += line
        used += cost
    pieces.append(current)
    return [p.rstrip("\n") for p in pieces if p.strip()] or [""]


def command_text(body: str) -> str:
    """`!name args` -> `/name args` (what Element users type; `/` is Element's own)."""
    return _COMMAND.sub("/", body, count=1).strip() if _COMMAND.match(body) else body.strip()


def bang_commands(text: str) -> str:
    """`/rsvp yes` -> `!rsvp yes` in what the bot says on Matrix."""
    return _SLASH_COMMAND.sub("!", text)


def strip_reply_fallback(body: str) -> str:
    """Drops the quoted `> ...` lines a reply carries ahead of what the person wrote."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    return "\n".join(lines[i:]).strip()


def relation(content: Mapping[str, Any]) -> tuple[str, str] | None:
    rel = content.get("m.relates_to")
    if not isinstance(rel, Mapping):
        return None
    rel_type, event_id = rel.get("rel_type"), rel.get("event_id")
    if isinstance(rel_type, str) and isinstance(event_id, str):
        return rel_type, event_id
    return None


# -- polls ---------------------------------------------------------------------------


def answer_id(index: int) -> str:
    """Answer ids are "1".."n", so an id maps back to its option without stored state."""
    return str(index + 1)


def poll_fallback_text(question: str, options: Sequence[str]) -> str:
    lines = [question, *(f"{i + 1}. {option}" for i, option in enumerate(options))]
    return "\n".join(lines)


def poll_start_content(question: str, options: Sequence[str], multiple: bool) -> dict[str, Any]:
    """The unstable MSC3381 start event, the way Element sends it."""
    return {
        POLL_START: {
            "kind": POLL_KIND_DISCLOSED,
            "max_selections": len(options) if multiple else 1,
            "question": {MSC1767_TEXT: question},
            "answers": [
                {"id": answer_id(i), MSC1767_TEXT: option} for i, option in enumerate(options)
            ],
        },
        MSC1767_TEXT: poll_fallback_text(question, options),
        # For clients without polls, which show an event by its body if at all.
        "body": poll_fallback_text(question, options),
        # An "@room" in a title pings nobody: the event mentions no one on purpose.
        "m.mentions": {},
    }


def poll_end_content(start_event_id: str, text: str) -> dict[str, Any]:
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start_event_id},
        POLL_END: {},
        MSC1767_TEXT: text,
        "m.mentions": {},
    }


def poll_selections(event_type: str, content: Mapping[str, Any]) -> list[str] | None:
    """The answer ids of a response in either form; None when it isn't one."""
    if event_type == POLL_RESPONSE:
        block = content.get(POLL_RESPONSE)
        answers = block.get("answers") if isinstance(block, Mapping) else None
    elif event_type == STABLE_POLL_RESPONSE:
        answers = content.get("m.selections")
        if answers is None:  # early stable drafts nested it like the unstable form
            block = content.get("m.poll.response")
            answers = block.get("answers") if isinstance(block, Mapping) else None
    else:
        return None
    if not isinstance(answers, list):
        return []
    return [a for a in answers if isinstance(a, str)]


def selection_indexes(ids: Sequence[str], options: int, max_selections: int) -> tuple[int, ...]:
    """0-based option indexes, as MSC3381 (and Element's tally) counts a response: cut to
    max_selections first; then one unknown id spoils the whole vote, which counts as no
    selection (the vote taken back); a repeated id counts once."""
    out: list[int] = []
    for raw in ids[:max_selections]:
        # ASCII digits only, and short: "²" is a digit to isdigit() but not to int().
        index = int(raw) - 1 if raw.isascii() and raw.isdigit() and len(raw) <= 4 else -1
        if not 0 <= index < options:
            return ()
        if index not in out:
            out.append(index)
    return tuple(out)


# -- reactions -----------------------------------------------------------------------


def reaction_answer(key: str) -> RsvpAnswer | None:
    # Without the variation selector, so "✔️" reads as "✔".
    return _REACTION_ANSWERS.get(key.replace("\ufe0f", "").strip())


def rsvp_button_answer(button: Button) -> RsvpAnswer | None:
    parts = button.payload.split(":")
    if len(parts) == 3 and parts[0] == "rsvp":
        try:
            return RsvpAnswer(parts[2])
        except ValueError:
            return None
    return None


def render_buttons(text: str, buttons: Sequence[Button]) -> tuple[str, list[str]]:
    """Matrix has no buttons: RSVP buttons become a line of reaction hints.

    Returns the text with the hint line and the reaction keys the bot seeds on the message.
    """
    hints: list[str] = []
    keys: list[str] = []
    others: list[str] = []
    for button in buttons:
        if button.payload.startswith("confirm:"):
            continue  # "really?": its text says which command to send again with yes
        answer = rsvp_button_answer(button)
        if answer is None:
            others.append(button.label)
            continue
        key = RSVP_REACTIONS[answer]
        if key not in keys:
            keys.append(key)
            label = button.label.strip()
            hints.append(label if reaction_answer(label.split(" ", 1)[0]) == answer
                         else f"{key} {label}")
    lines = [text]
    if hints:
        lines.append("")
        lines.append("  ".join(hints))
    if others:
        lines.append(" · ".join(others))
    return "\n".join(lines), keys
