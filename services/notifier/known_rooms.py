"""The rooms this replica has heard of (pure asyncio), so a stream for a room nobody
announced is a 404, not an endless empty snapshot.

Rooms are the storefront's: it announces each one on `room.changed` when it is created,
whenever its pins or live state change, and again at each storefront start. A replica
learns them from that stream read from its beginning at start, then live, and from the
marketplace's `room.sales` snapshots (a room with sales exists). Bounded: past
`max_rooms` the room heard of least recently is forgotten first.

It also remembers what each room last looked like (a hash of its state and pins), so a
re-announcement that changes nothing wakes no page.
"""

import asyncio
from collections import OrderedDict

from contracts import RoomChanged


class KnownRooms:
    """Room ids heard of, most recent last, each with the hash of its last change."""

    def __init__(self, *, max_rooms: int = 100_000) -> None:
        self._max_rooms = max_rooms
        self._rooms: OrderedDict[str, int | None] = OrderedDict()
        self._learned = asyncio.Event()

    def __len__(self) -> int:
        return len(self._rooms)

    def knows(self, room_id: str) -> bool:
        return room_id in self._rooms

    def heard_of(self, room_id: str) -> None:
        """The room exists (e.g. it has sales); what it shows is not known from this."""
        self._remember(room_id, self._rooms.get(room_id))

    def changed(self, change: RoomChanged) -> bool:
        """Remember the room as `change` shows it; whether that is news (a room not heard
        of, or another state or other pins than last time)."""
        signature = hash((change.state, tuple(change.skus)))
        news = self._rooms.get(change.room_id, None) != signature
        self._remember(change.room_id, signature)
        return news

    async def wait_for(self, room_id: str, *, seconds: float) -> bool:
        """Whether the room is known within `seconds`: a room created a moment ago
        may still be on its way through the stream."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self.knows(room_id):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._learned.wait(), remaining)
            except TimeoutError:
                return False
        return True

    def _remember(self, room_id: str, signature: int | None) -> None:
        new = room_id not in self._rooms
        self._rooms[room_id] = signature
        self._rooms.move_to_end(room_id)
        if len(self._rooms) > self._max_rooms:
            self._rooms.popitem(last=False)
        if new:  # wake whoever waits for a room, and start a fresh wait for the next
            self._learned.set()
            self._learned = asyncio.Event()
