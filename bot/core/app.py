"""The command core's front door: the one object every adapter calls.

(Interface fixed first so adapters can be written against it; bodies follow.)
"""

from __future__ import annotations

from datetime import datetime

from bot.core.messages import ChatRef, Inbound, PollAnswer, ReactionRsvp, Reply, RsvpAction


class Core:
    async def handle_message(self, msg: Inbound) -> None:
        """A text message in a group or DM: commands are answered through the messengers."""
        raise NotImplementedError

    async def handle_poll_answer(self, answer: PollAnswer) -> None:
        """A native poll vote (empty option_indexes = vote taken back)."""
        raise NotImplementedError

    async def handle_rsvp_action(self, action: RsvpAction) -> Reply:
        """A button press; the Reply is the short toast the platform shows."""
        raise NotImplementedError

    async def handle_reaction(self, reaction: ReactionRsvp) -> None:
        """A reaction added/removed on a message the bot posted (Matrix RSVP)."""
        raise NotImplementedError

    async def migrate_chat(self, old: ChatRef, new: ChatRef) -> None:
        """A chat changed its id (Telegram group -> supergroup): keep its chapter."""
        raise NotImplementedError

    async def run_due(self) -> int:
        """Close due polls and send due reminders; returns how many items were handled."""
        raise NotImplementedError

    async def next_due_at(self) -> datetime | None:
        raise NotImplementedError
