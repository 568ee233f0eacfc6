"""The doorbell between the fan-out reader of `order.status` and buyer connections (pure asyncio).

The reader does not carry statuses to browsers: it rings the bells of the status's
buyer, and each of that buyer's connections reads the buyer's own stream after the
last entry it sent. So a live status costs what is new for that buyer, and a
connection holds a flag and a few ids, never a queue that a slow browser could grow.
"""

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Container, Iterator

from contracts import OrderStatusChanged
from services.notifier.records import RecentIds

MAX_EXPECTED = 64
"""Event ids a bell keeps while waiting to read them; beyond that it only knows it was rung."""


class Bell:
    """One connection's doorbell: rung with the event id of a new status of its buyer."""

    def __init__(self, buyer_id: str, *, max_expected: int = MAX_EXPECTED) -> None:
        self.buyer_id = buyer_id
        self._max_expected = max_expected
        self._rung = asyncio.Event()
        self._expected: set[str] = set()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def ring(self, event_id: str) -> None:
        if self._closed:
            return
        if len(self._expected) < self._max_expected:
            self._expected.add(event_id)
        self._rung.set()

    def settle(self, seen: Container[str]) -> bool:
        """Forget the expected events that were read; True while some are still missing
        (the relay writes `order.status` a moment before the buyer's stream)."""
        self._expected = {event_id for event_id in self._expected if event_id not in seen}
        return bool(self._expected)

    def forget(self) -> None:
        self._expected.clear()

    async def wait(self, seconds: float | None) -> bool:
        """Until rung, closed or `seconds` passed; False once the bell is closed."""
        if not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._rung.wait(), seconds)
        self._rung.clear()
        return not self._closed

    def close(self) -> None:
        self._closed = True
        self._rung.set()


class StatusHub:
    """Whose checkout is whose (recent memory, bounded) and the bells of open buyer connections."""

    def __init__(self, *, max_checkouts: int = 100_000, max_events: int = 100_000) -> None:
        self._max_checkouts = max_checkouts
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._events = RecentIds(max_events)
        self._bells: dict[str, set[Bell]] = {}
        self.statuses_seen = 0
        """Every status handed to `publish`, duplicates included (for metrics and tests)."""

    def publish(self, *, event_id: str, status: OrderStatusChanged, ring: bool = True) -> bool:
        """A status seen on `order.status`: remember its buyer and, unless `ring` is False
        (history read at start), ring that buyer's connections. False for an event
        already seen (the relay may send one twice)."""
        self.statuses_seen += 1
        if not self._events.add(event_id):
            return False
        self._owners[status.checkout_id] = status.buyer_id
        self._owners.move_to_end(status.checkout_id)
        if len(self._owners) > self._max_checkouts:
            self._owners.popitem(last=False)
        if ring:
            for bell in self._bells.get(status.buyer_id, ()):
                bell.ring(event_id)
        return True

    def owner_of(self, checkout_id: str) -> str | None:
        """The buyer of `checkout_id` if a status of it was seen recently; None when unknown."""
        return self._owners.get(checkout_id)

    @contextlib.contextmanager
    def listen(self, buyer_id: str) -> Iterator[Bell]:
        """A bell rung for each new status of `buyer_id`, until the block exits."""
        bell = Bell(buyer_id)
        self._bells.setdefault(buyer_id, set()).add(bell)
        try:
            yield bell
        finally:
            bell.close()
            bells = self._bells.get(buyer_id, set())
            bells.discard(bell)
            if not bells:
                self._bells.pop(buyer_id, None)

    def connections(self) -> int:
        """Open buyer connections on this replica."""
        return sum(len(bells) for bells in self._bells.values())

    def close(self) -> None:
        """End every connection (shutdown): browsers reconnect elsewhere with Last-Event-ID."""
        for bells in self._bells.values():
            for bell in bells:
                bell.close()
