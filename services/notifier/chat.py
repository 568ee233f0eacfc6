"""Live rooms' chat as this replica knows it (pure asyncio): the last messages of each room,
for the snapshot a newcomer gets, and reactions counted between pushes.

Fed by the fan-out readers of `chat` and `room.reactions`. Every message and deletion is
pushed to the room's connections as it comes (queued like purchases: a connection too far
behind is dropped); reactions are added up per room and pushed at most once per
`interval`, so a room of thousands tapping hearts costs a few pushes a second.
Bounded: `history` messages per room, `max_rooms` rooms (the least recently active go).
"""

import asyncio
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from datetime import datetime

from contracts import ChatPosted, ReactionKind
from services.notifier.chat_lines import ChatDeleted, ChatLine, Reactions
from services.notifier.room_events import RoomEvent

Push = Callable[[str, RoomEvent], None]
"""Queue an event to every open connection of a room."""


class RoomChat:
    """The recent chat of each room, and its reactions waiting for the next push."""

    def __init__(
        self, *, push: Push, interval: float = 0.25, history: int = 50, max_rooms: int = 10_000
    ) -> None:
        self._push = push
        self._interval = interval
        self._history = history
        self._max_rooms = max_rooms
        self._lines: OrderedDict[str, deque[ChatLine]] = OrderedDict()
        self._reactions: dict[str, Counter[ReactionKind]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def posted(self, message: ChatPosted, *, at: datetime) -> None:
        """Keep the message among the room's last ones and push it to the room."""
        line = ChatLine.of(message, at)
        lines = self._lines.get(message.room_id)
        if lines is None:
            lines = self._lines[message.room_id] = deque(maxlen=self._history)
            if len(self._lines) > self._max_rooms:
                self._lines.popitem(last=False)
        self._lines.move_to_end(message.room_id)
        lines.append(line)
        self._push(message.room_id, RoomEvent("chat", line.model_dump_json()))

    def deleted(self, room_id: str, message_id: str) -> None:
        """Forget the message and tell the room to remove it (also when it is no longer
        kept here: a page may still show it)."""
        lines = self._lines.get(room_id)
        if lines is not None and any(line.id == message_id for line in lines):
            kept = [line for line in lines if line.id != message_id]
            self._lines[room_id] = deque(kept, maxlen=self._history)
        self._push(room_id, RoomEvent("chat_deleted", ChatDeleted(id=message_id).model_dump_json()))

    def recent(self, room_id: str) -> list[ChatLine]:
        """The room's last messages, oldest first."""
        return list(self._lines.get(room_id, ()))

    def reacted(self, room_id: str, kind: ReactionKind) -> None:
        """Count a reaction; the room hears the counts at the next push."""
        counts = self._reactions.setdefault(room_id, Counter())
        counts[kind] += 1
        if room_id in self._timers:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # driven by hand (unit tests): nothing can wait
            self._flush(room_id)
            return
        self._timers[room_id] = loop.call_later(self._interval, self._flush, room_id)

    def _flush(self, room_id: str) -> None:
        self._timers.pop(room_id, None)
        counts = self._reactions.pop(room_id, None)
        if counts:
            event = RoomEvent("reaction", Reactions(counts=dict(counts)).model_dump_json())
            self._push(room_id, event)

    def close(self) -> None:
        """Drop pending reaction pushes (shutdown)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._reactions.clear()
