"""Live rooms' chat as this replica knows it (pure asyncio): the last messages of each room,
for the snapshot a newcomer gets, and what is waiting to be pushed to the room.

Fed by the fan-out readers of `chat` and `room.reactions`. A room's chat goes out at most
once per `interval`: the first message after a quiet spell at once, what follows within
the interval together at its end (messages and deletions in order, each as its own event,
and the reactions added up into one `reaction` event). A connection therefore writes once
per interval however busy the chat, and a room of thousands tapping hearts costs a few
pushes a second. Bounded: `history` messages per room, as many waiting, and `max_rooms`
rooms remembered (the least recently active go).
"""

import asyncio
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from datetime import datetime

from contracts import ChatPosted, ReactionKind
from services.notifier.chat_lines import ChatDeleted, ChatLine, Reactions
from services.notifier.room_events import RoomEvent

Push = Callable[[str, RoomEvent], None]
"""Queue an event to every open connection of a room."""


class RoomChat:
    """The recent chat of each room, and what waits for the room's next push."""

    def __init__(
        self,
        *,
        push: Push,
        interval: float = 0.25,
        history: int = 50,
        max_rooms: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._push = push
        self._interval = interval
        self._history = history
        self._max_rooms = max_rooms
        self._clock = clock
        self._lines: OrderedDict[str, deque[ChatLine]] = OrderedDict()
        self._waiting: dict[str, deque[RoomEvent]] = {}
        self._reactions: dict[str, Counter[ReactionKind]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._pushed_at: dict[str, float] = {}

    def posted(self, message: ChatPosted, *, at: datetime) -> None:
        """Keep the message among the room's last ones; it goes to the room's next push."""
        line = ChatLine.of(message, at)
        lines = self._lines.get(message.room_id)
        if lines is None:
            lines = self._lines[message.room_id] = deque(maxlen=self._history)
            if len(self._lines) > self._max_rooms:
                self._lines.popitem(last=False)
        self._lines.move_to_end(message.room_id)
        lines.append(line)
        self._wait(message.room_id, RoomEvent("chat", line.model_dump_json()))

    def deleted(self, room_id: str, message_id: str) -> None:
        """Forget the message and tell the room to remove it (also when it is no longer
        kept here: a page may still show it), after whatever is waiting."""
        lines = self._lines.get(room_id)
        if lines is not None and any(line.id == message_id for line in lines):
            kept = [line for line in lines if line.id != message_id]
            self._lines[room_id] = deque(kept, maxlen=self._history)
        self._wait(room_id, RoomEvent("chat_deleted", ChatDeleted(id=message_id).model_dump_json()))

    def recent(self, room_id: str) -> list[ChatLine]:
        """The room's last messages, oldest first."""
        return list(self._lines.get(room_id, ()))

    def reacted(self, room_id: str, kind: ReactionKind) -> None:
        """Count a reaction; the room hears the counts at its next push."""
        self._reactions.setdefault(room_id, Counter())[kind] += 1
        self._due(room_id)

    def _wait(self, room_id: str, event: RoomEvent) -> None:
        # A browser shows the last `history` lines: older waiting ones are not worth a push.
        self._waiting.setdefault(room_id, deque(maxlen=self._history)).append(event)
        self._due(room_id)

    def _due(self, room_id: str) -> None:
        """Push now when the room's last push is an interval old; else once it is."""
        if room_id in self._timers:
            return
        wait = self._pushed_at.get(room_id, -self._interval) + self._interval - self._clock()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # driven by hand (unit tests): nothing can wait
            wait = 0.0
        if wait <= 0:
            self._flush(room_id)
        else:
            self._timers[room_id] = loop.call_later(wait, self._flush, room_id)

    def _flush(self, room_id: str) -> None:
        self._timers.pop(room_id, None)
        self._pushed_at.pop(room_id, None)  # to the end: the least recently pushed go first
        self._pushed_at[room_id] = self._clock()
        if len(self._pushed_at) > self._max_rooms:  # oldest first: dicts keep insertion order
            del self._pushed_at[next(iter(self._pushed_at))]
        for event in self._waiting.pop(room_id, ()):
            self._push(room_id, event)
        counts = self._reactions.pop(room_id, None)
        if counts:
            self._push(
                room_id, RoomEvent("reaction", Reactions(counts=dict(counts)).model_dump_json())
            )

    def close(self) -> None:
        """Drop what waits for a push (shutdown)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._waiting.clear()
        self._reactions.clear()
